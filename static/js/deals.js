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
    showReasons();
    document.querySelector("#deal-board [data-focus]")?.focus();
  });

  // "Why lost" only when the chosen stage is a lost one (without scripts it is always there).
  const showReason = (select) => {
    const reason = select.form.querySelector("[data-move-reason]");
    if (reason) reason.hidden = select.selectedOptions[0]?.dataset.outcome !== "lost";
  };
  const showReasons = () => document.querySelectorAll(".move-form select[name=stage]").forEach(showReason);
  document.addEventListener("change", (event) => {
    if (event.target.matches(".move-form select[name=stage]")) showReason(event.target);
  });
  document.addEventListener("DOMContentLoaded", showReasons);
})();
