// Starts the NHS.UK frontend components. A module script, so the page needs no inline
// JavaScript and the Content-Security-Policy can forbid it.
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// Buttons that ask before doing something that cannot be undone (data-confirm="...")
document.querySelectorAll("[data-confirm]").forEach((el) => {
  el.addEventListener("click", (event) => {
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
});
