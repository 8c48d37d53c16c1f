// The board's move forms post through htmx and swap the whole board. A refused move comes back as
// a 400 (a lost deal without its reason) or a 409 (someone moved it meanwhile): htmx 2 does not swap
// those by default, so the board with the message at the card is swapped in here. Focus then goes
// back to the card that moved (or to its form, when refused), so a keyboard user keeps their place.
(() => {
  document.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if ((status === 400 || status === 409) && event.detail.target.id === "deal-board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelector("#deal-board [data-focus]")?.focus();
  });
})();
