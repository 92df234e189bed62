// After django-otp-webauthn's register script has added a passkey (its
// "otp_webauthn.register_complete" event), go on to the page named by the
// data-done-url of #isg-passkey-register; "{id}" in it is the new passkey's id.
// A static file, so the Content-Security-Policy stays script-src 'self'.
document.addEventListener("otp_webauthn.register_complete", (event) => {
  const holder = document.getElementById("isg-passkey-register");
  const done = holder && holder.dataset.doneUrl;
  if (!done) {
    return;
  }
  const id = event.detail && event.detail.id;
  window.location.assign(done.replace("{id}", encodeURIComponent(String(id))));
});
