// The backup page (templates/backups/backup_detail.html). A file of its own, not an inline
// script: the Content-Security-Policy runs scripts from our static files only.

// After a Download click the browser stays on this page (the file comes as an attachment):
// tell the body to refresh itself a moment later, so the downloads left are right. Not an
// htmx trigger on the form itself: htmx would cancel the submit.
document.addEventListener("submit", (event) => {
  if (event.target.id === "download-form") {
    htmx.trigger("#backup-detail", "download-started");
  }
});

// Copy the backup file's SHA-256. Delegated: htmx swaps the section in and out.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const copied = () => {
    button.firstChild.textContent = "Copied";
    setTimeout(() => {
      button.firstChild.textContent = "Copy";
    }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.textContent.trim()).then(copied);
  } else {
    // Plain http: select it, so the person can copy it themselves if this does not.
    const range = document.createRange();
    range.selectNodeContents(source);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    if (document.execCommand("copy")) copied();
  }
});
