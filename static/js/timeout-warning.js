// The session timeout warning (the GOV.UK / HMRC timeout-warning pattern).
// Loaded by templates/accounts/_session.html as <script type="module" src="...">; the
// Content-Security-Policy allows no inline script.
//
// The page already says, without JavaScript, when the session will end. This adds a modal
// <dialog> shortly before then with "Stay signed in" (a POST to the session URL, which
// counts as activity) and "Sign out". Before warning, it asks the server how long is
// really left (a GET that is not itself activity), so a page left open in one tab does
// not warn while the person works in another. The server signs people out whatever this
// script does: it only makes the end visible.

const root = document.querySelector('[data-module="isg-timeout-warning"]');

if (root && typeof HTMLDialogElement === "function") {
  const dialog = root.querySelector("dialog");
  const form = root.querySelector(".isg-timeout-dialog__form");
  const countdown = root.querySelector(".isg-timeout-dialog__countdown");
  const absoluteNote = root.querySelector(".isg-timeout-dialog__absolute");
  const stayButton = form.querySelector('button:not([form])');
  const statusUrl = root.dataset.statusUrl;
  const signedOutUrl = root.dataset.signedOutUrl;
  const warningMs = Number(root.dataset.warningSeconds) * 1000;

  let endsAt = Date.now() + Number(root.dataset.secondsLeft) * 1000;
  let byAbsolute = false;
  let timer = null;
  let ticker = null;

  const secondsLeft = () => Math.max(0, Math.round((endsAt - Date.now()) / 1000));

  function words(seconds) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    const parts = [];
    if (minutes) parts.push(`${minutes} minute${minutes === 1 ? "" : "s"}`);
    if (rest || !minutes) parts.push(`${rest} second${rest === 1 ? "" : "s"}`);
    return parts.join(" ");
  }

  function signOut() {
    window.location.assign(signedOutUrl);
  }

  async function status(method) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method === "POST") options.body = new FormData(form);
    const response = await fetch(statusUrl, options);
    if (!response.ok) return null;
    return response.json();
  }

  function update(result) {
    endsAt = Date.now() + result.seconds_left * 1000;
    byAbsolute = Boolean(result.by_absolute);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(0, endsAt - warningMs - Date.now()));
  }

  function close() {
    clearInterval(ticker);
    if (dialog.open) dialog.close();
  }

  function warn() {
    absoluteNote.hidden = !byAbsolute;
    stayButton.hidden = byAbsolute;
    countdown.textContent = words(secondsLeft());
    if (!dialog.open) dialog.showModal();
    clearInterval(ticker);
    ticker = setInterval(() => {
      countdown.textContent = words(secondsLeft());
      if (secondsLeft() === 0) {
        clearInterval(ticker);
        check();
      }
    }, 1000);
  }

  async function check() {
    let result;
    try {
      result = await status("GET");
    } catch {
      result = undefined; // offline: go by the time we know
    }
    if (result === null || (result && !result.signed_in)) {
      signOut();
      return;
    }
    if (result) update(result);
    if (secondsLeft() === 0) {
      if (!result) {
        signOut(); // offline: go by the time we know
      } else {
        // The server ends the session on its own clock: ask again until it has.
        clearTimeout(timer);
        timer = setTimeout(check, 2000);
      }
    } else if (endsAt - Date.now() > warningMs + 1000) {
      close();
      schedule();
    } else {
      warn();
    }
  }

  async function staySignedIn(event) {
    if (event) event.preventDefault();
    try {
      const result = await status("POST");
      if (!result || !result.signed_in) {
        signOut();
        return;
      }
      update(result);
      close();
      schedule();
    } catch {
      signOut();
    }
  }

  form.addEventListener("submit", (event) => {
    // "Sign out" belongs to another form (its own POST); only "Stay signed in" is ours.
    if (event.submitter && event.submitter.getAttribute("form")) return;
    staySignedIn(event);
  });
  // Escape closes a modal dialog: treat it as "Stay signed in", as the HMRC pattern does.
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    if (!byAbsolute) staySignedIn();
  });

  schedule();
}
