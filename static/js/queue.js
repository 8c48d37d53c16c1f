// The approval queue from the keyboard: j/k move, a approve, e edit, r reject, g regenerate,
// z snooze, s skip, x select, u undo, ? help. Every action is a button or form that also works
// without this script; the script only moves focus and presses them.
(() => {
  "use strict";
  document.documentElement.classList.add("js");

  const items = () => [...document.querySelectorAll("#queue-list [data-item]")];
  const undecided = () => items().filter((item) => !item.hasAttribute("data-decided"));
  // The current item by id: a swap replaces the element, not the rep's place in the queue.
  let currentId = null;
  let lastApprovedId = null;
  const here = () => (currentId && document.getElementById(currentId)) || null;

  function select(item, { focus = true, scroll = true } = {}) {
    if (!item) return;
    document.querySelectorAll("#queue-list .current").forEach((el) => el.classList.remove("current"));
    currentId = item.id;
    item.classList.add("current");
    if (focus) item.focus({ preventScroll: true });
    if (scroll) item.scrollIntoView({ block: "nearest", behavior: "instant" });
  }

  function move(step) {
    const all = items();
    if (!all.length) return;
    const index = all.indexOf(here());
    const next = index === -1 ? all[0] : all[index + step];
    if (next) select(next);
    else if (step > 0) document.querySelector('[data-action="more"]')?.click();
  }

  // Characters as the server counts them: code points, line breaks as one.
  const length = (text) => [...text.replace(/\r\n/g, "\n")].length;

  function count(textarea) {
    const limit = Number(textarea.dataset.limit);
    const used = length(textarea.value);
    const over = used > limit;
    const output = document.getElementById(textarea.getAttribute("aria-describedby"));
    if (output) {
      output.textContent = over
        ? `${used} / ${limit} characters: ${used - limit} over the limit`
        : `${used} / ${limit} characters`;
      output.classList.toggle("over", over);
    }
    textarea.setAttribute("aria-invalid", over ? "true" : "false");
    const approve = textarea.form.querySelector('[data-action="approve"]');
    if (approve) approve.disabled = over;
  }

  function updateSelection() {
    const chosen = document.querySelectorAll('input.select[form="bulk-form"]:checked').length;
    document.querySelectorAll("[data-selected-count]").forEach((el) => (el.textContent = chosen));
    const bulk = document.querySelector('[data-action="bulk"]');
    if (bulk) bulk.disabled = chosen === 0;
  }

  document.addEventListener("input", (event) => {
    const target = event.target;
    if (target.matches("textarea[data-limit]")) {
      count(target);
      // Edited text is approved on its own, never in bulk: the bulk form carries no text.
      const box = target.closest("[data-item]")?.querySelector("input.select");
      if (box) {
        box.checked = false;
        box.disabled = true;
        box.title = "Edited: approve this draft on its own";
        updateSelection();
      }
    }
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("input.select")) updateSelection();
  });

  document.addEventListener("focusin", (event) => {
    const item = event.target.closest?.("#queue-list [data-item]");
    // A click inside an item makes it current without scrolling: the click must land where aimed.
    if (item && item.id !== currentId) select(item, { focus: false, scroll: false });
  });

  document.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "skip") {
      const item = event.target.closest("[data-item]");
      const next = undecided()[undecided().indexOf(item) + 1];
      item.parentElement.insertBefore(item, document.getElementById("more"));
      select(next || item);
    } else if (action === "help") {
      document.getElementById("keys-help")?.showModal();
    } else if (action === "close-dialog" && event.target.closest("dialog")) {
      event.preventDefault();
      event.target.closest("dialog").close();
    }
  });

  const FIELD_KEYS = { e: "textarea[data-limit]", r: '[data-field="reject"]', g: '[data-field="regenerate"]', z: '[data-field="snooze"]' };
  // Only these keys are shortcuts: Tab, Enter, Space, arrows and the rest keep their native meaning,
  // so a rep can Tab out of a draft and press its buttons and links like anywhere else.
  const SHORTCUTS = new Set(["?", "j", "k", "a", "e", "r", "g", "z", "s", "x", "u"]);

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (typing) {
      if (event.key === "Escape" && typing.closest("[data-item]")) {
        event.preventDefault();
        typing.blur();
        select(typing.closest("[data-item]"));
      }
      return;
    }
    const key = event.key;
    if (!SHORTCUTS.has(key) || document.querySelector("dialog[open]")) return;
    if (key === "?") {
      document.getElementById("keys-help")?.showModal();
    } else if (key === "j" || key === "k") {
      move(key === "j" ? 1 : -1);
    } else if (key === "u") {
      undo(); // even with no draft left in the queue: a bulk approval may have taken them all
    } else if (!here()) {
      select(undecided()[0]); // the first press shows the draft; it never approves unseen text
      if (!here()) return;
      if (key !== "a") handle(here(), key);
    } else {
      handle(here(), key);
    }
    event.preventDefault();
  });

  // Where the rep's words end: before the sign-off the server found (data-sign-off), so typing
  // adds to the message rather than after the signature. Edited away, the end of the text.
  function endOfText(textarea) {
    const signOff = textarea.dataset.signOff;
    const at = signOff ? textarea.value.lastIndexOf(signOff) : -1;
    return at > 0 ? textarea.value.slice(0, at).trimEnd().length : textarea.value.length;
  }

  function handle(current, key) {
    if (key === "a") {
      press(current.querySelector('[data-action="approve"]'));
    } else if (FIELD_KEYS[key]) {
      const field = current.querySelector(FIELD_KEYS[key]);
      if (field) {
        field.focus();
        if (field.setSelectionRange && field.value) {
          const at = key === "e" ? endOfText(field) : field.value.length;
          field.setSelectionRange(at, at);
        }
      }
    } else if (key === "s") {
      press(current.querySelector('[data-action="skip"]'));
    } else if (key === "x") {
      const box = current.querySelector("input.select:not(:disabled)");
      if (box) {
        box.checked = !box.checked;
        updateSelection();
      }
    }
  }

  // The current item's approval, else the last one approved on this page, else the last bulk approval.
  function undo() {
    const button =
      here()?.querySelector('[data-action="undo"]') ||
      (lastApprovedId && document.querySelector(`#${lastApprovedId} [data-action="undo"]`)) ||
      document.querySelector('[data-action="bulk-undo"]');
    press(button);
  }

  // A draft swapped in a moment ago is wired by htmx only when it settles (20 ms later): a key pressed
  // in between would post its form natively and reload the page. htmx.process is idempotent.
  function press(button) {
    if (!button || button.disabled) return;
    window.htmx?.process(button.closest("form") || button);
    button.click();
  }

  // After a decision the item is swapped in place: keep it as the reference point and move on,
  // unless the decision was refused (the rep has to read why).
  document.addEventListener("htmx:afterSwap", (event) => {
    // Not every swap names a target (a history restore replaces the page): never assume one.
    if (event.detail?.target?.id === "bulk-dialog-body") {
      document.getElementById("bulk-dialog")?.showModal();
      return;
    }
    updateSelection();
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const swapped = event.detail.elt;
    if (!swapped?.matches?.("#queue-list [data-item]") || swapped.id !== currentId) return;
    if (swapped.querySelector('[data-action="undo"]')) lastApprovedId = swapped.id;
    if (swapped.hasAttribute("data-decided") && !swapped.hasAttribute("data-error")) {
      const all = items();
      const next = all.slice(all.indexOf(swapped) + 1).find((item) => !item.hasAttribute("data-decided"));
      select(next || swapped);
    } else {
      select(swapped); // settling reset its classes; a refusal stays in view to be read
    }
  });

  function start() {
    document.querySelectorAll("textarea[data-limit]").forEach(count);
    updateSelection();
  }

  document.addEventListener("DOMContentLoaded", start);
  // Back and Forward refetch the queue from the server (hx-history="false"): the page is new, start over.
  document.addEventListener("htmx:historyRestore", () => {
    currentId = null;
    lastApprovedId = null;
    start();
  });
})();
