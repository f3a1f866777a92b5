// Upload backup file (R4): send a file in chunks, each with its offset, and resume from the
// offset the server reports — after a dropped connection, and after a page reload when the
// person chooses the same file again. Plain JS, no build step.
//
// The server's answers (JSON): start → {id, chunk_size, received_bytes, status, *_url};
// a chunk → the same with the new received_bytes; 409 → the offset it has; 413 → too big.
// Every refusal is JSON too, {"error": "…"}: its words are shown to the person as they are
// (401 the session ended, 403 a stale page or not an org admin, 409/413/507 a start refused).
(() => {
  "use strict";

  const root = document.getElementById("uploader");
  if (!root) return;

  const $ = (id) => document.getElementById(id);
  const input = $("upload-file");
  const panel = $("upload-progress");
  const bar = $("upload-bar");
  const errorBox = $("upload-error");
  const pauseButton = $("upload-pause");
  const resumeButton = $("upload-resume");

  const csrf = root.dataset.csrf;
  const startUrl = root.dataset.startUrl;
  const STORE = "backupsite.upload." + root.dataset.org + ".";
  const RETRIES = 8; // a dropped connection is retried this many times before asking the person
  const MAX_CONFLICTS = 5; // 409s in a row: something else sends this upload too

  // The file being sent: {file, upload, xhr, paused, run, sent: [[time, bytes], …]}. `run`
  // counts the sending loops started; a loop whose number is no longer `run` stops quietly.
  let current = null;

  // --- words ---------------------------------------------------------------------------------

  // Sizes and times left as every page writes them (static/js/format.js, rules.py).
  const { humanBytes: bytes, timeLeft } = window.backupsiteFormat;

  function duration(seconds) {
    return isFinite(seconds) ? timeLeft(seconds) : "—";
  }

  function say(text) {
    $("upload-state").textContent = text;
  }

  function fail(text) {
    errorBox.textContent = "";
    const p = document.createElement("p");
    p.textContent = text;
    errorBox.appendChild(p);
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  // --- progress ------------------------------------------------------------------------------

  function show(done) {
    const total = current.file.size;
    const percent = total ? Math.floor((100 * done) / total) : 0;
    bar.value = percent;
    $("upload-percent").textContent = `${percent}%`;
    $("upload-bytes").textContent = `${bytes(done)} of ${bytes(total)}`;
    // Speed over the last ten seconds of this page's sending (not the bytes of a resume).
    const now = performance.now();
    current.sent.push([now, done]);
    while (current.sent.length > 2 && now - current.sent[0][0] > 10000) current.sent.shift();
    const [t0, b0] = current.sent[0];
    const seconds = (now - t0) / 1000;
    if (seconds >= 0.1 && done > b0) {
      const speed = (done - b0) / seconds;
      const mbs = speed / 1e6;
      $("upload-speed").textContent = `${mbs >= 10 ? mbs.toFixed(0) : mbs.toFixed(mbs >= 0.1 ? 1 : 2)} MB/s`;
      $("upload-eta").textContent = done >= total ? "done" : duration((total - done) / speed);
      $("upload-rate").hidden = false;
    }
  }

  function resetRate() {
    // Speed and time left are measured anew after a pause or a drop; hidden until then.
    current.sent = [];
    $("upload-rate").hidden = true;
  }

  // --- remembering an unfinished upload across reloads ---------------------------------------

  function keyOf(file) {
    return STORE + [file.name, file.size, file.lastModified].join(":");
  }

  function remember(file, upload) {
    try {
      localStorage.setItem(
        keyOf(file),
        JSON.stringify({ id: upload.id, status_url: upload.status_url })
      );
    } catch (e) {
      // Private browsing: the upload still works, it just cannot resume after a reload.
    }
  }

  function recalled(file) {
    try {
      return JSON.parse(localStorage.getItem(keyOf(file)) || "null");
    } catch (e) {
      return null;
    }
  }

  function forget(file) {
    try {
      localStorage.removeItem(keyOf(file));
    } catch (e) {
      /* nothing to forget */
    }
  }

  // --- HTTP ------------------------------------------------------------------------------------

  class NetworkError extends Error {}
  class Paused extends Error {}

  // XMLHttpRequest, not fetch: it reports the bytes of a chunk as they leave, so the bar moves
  // within a chunk too. Resolves {status, body}; rejects NetworkError when the connection drops.
  function send(method, url, { body = null, headers = {}, onProgress = null } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (e) {
          data = null;
        }
        if (data === null && xhr.responseURL.includes("/accounts/login/")) {
          data = { error: "Your session has ended. Log in again, then choose the same file: the upload continues from where it stopped." };
        }
        resolve({ status: xhr.status, body: data || {} });
      };
      xhr.onerror = () => reject(new NetworkError("The connection was lost."));
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => reject(new Paused());
      if (current) current.xhr = xhr;
      xhr.send(body);
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The server's own words for a refusal, or these when it sent none (a proxy's error page).
  function reason(answer, fallback) {
    const error = answer.body && answer.body.error;
    return typeof error === "string" && error ? error : fallback;
  }

  // Refusals that a login or a reload mends: the upload is kept, to resume from where it is.
  const mendable = (status) => status === 401 || status === 403;

  // --- the upload ----------------------------------------------------------------------------

  async function begin(file) {
    clearError();
    current = { file, upload: null, xhr: null, paused: false, run: 0, sent: [] };
    panel.hidden = false;
    $("upload-name").textContent = file.name;
    $("upload-size").textContent = bytes(file.size);
    pauseButton.hidden = false;
    resumeButton.hidden = true;
    resetRate();
    show(0);

    // The same file (name, size, date) begun before this page was loaded: ask where it is.
    const known = recalled(file);
    if (known) {
      say("Looking for the earlier upload of this file…");
      try {
        const answer = await send("GET", known.status_url);
        const { status, body } = answer;
        if (mendable(status)) {
          // Signed out, or the page is stale: say so, and keep the upload to resume later.
          panel.hidden = true;
          fail(reason(answer, `The upload cannot continue now (HTTP ${status}).`));
          current = null;
          return;
        }
        if (status === 200 && body.status === "RECEIVING" && body.declared_size === file.size) {
          current.upload = body;
          show(body.received_bytes);
          resetRate();
          say(`Resume upload: ${bytes(body.received_bytes)} of this file had been received; continuing from there.`);
          return run();
        }
      } catch (e) {
        if (e instanceof Paused) return;
      }
      forget(file); // finished, deleted, or not this file: start anew
    }

    say("Starting…");
    let answer;
    try {
      answer = await send("POST", startUrl, {
        body: JSON.stringify({ file_name: file.name, size: file.size }),
        headers: { "Content-Type": "application/json" },
      });
    } catch (e) {
      if (e instanceof Paused) return;
      return stopped("The upload could not start: the connection was lost. Choose the file again to retry.");
    }
    if (answer.status !== 201) {
      // D2 and friends: refused before any byte is sent, with the reason.
      panel.hidden = true;
      fail(reason(answer, `The upload could not start (HTTP ${answer.status}).`));
      input.value = "";
      current = null;
      return;
    }
    current.upload = answer.body;
    remember(file, answer.body);
    say("Uploading…");
    return run();
  }

  async function run() {
    const session = current;
    const mine = ++session.run;
    const cancelled = () => session.paused || session !== current || session.run !== mine;
    const { file } = session;
    let upload = session.upload;
    input.disabled = true;
    let offset = upload.received_bytes;
    let retries = 0;
    let conflicts = 0;
    window.addEventListener("beforeunload", warn);
    try {
      while (upload.status === "RECEIVING" && offset < file.size) {
        const end = Math.min(offset + upload.chunk_size, file.size);
        const start = offset;
        let answer;
        try {
          answer = await send("PUT", upload.chunk_url, {
            body: file.slice(start, end),
            headers: {
              "Content-Type": "application/octet-stream",
              "X-Upload-Offset": String(start),
            },
            onProgress: (loaded) => show(Math.min(start + loaded, end)),
          });
        } catch (e) {
          if (e instanceof Paused) throw e;
          // The connection dropped: wait (longer each time), then ask where the server is.
          retries += 1;
          if (retries > RETRIES) {
            return stopped("The connection was lost. Check your network, then press Resume upload.");
          }
          const wait = Math.min(30, 2 ** (retries - 1));
          say(`The connection was lost. Trying again in ${wait} s (attempt ${retries} of ${RETRIES})…`);
          await sleep(wait * 1000);
          if (cancelled()) throw new Paused();
          try {
            const { status, body } = await send("GET", upload.status_url);
            if (status === 200) {
              upload = session.upload = body;
              offset = body.received_bytes;
            }
          } catch (again) {
            if (again instanceof Paused) throw again;
          }
          resetRate();
          continue;
        }

        const { status, body } = answer;
        if (status === 200) {
          upload = session.upload = body;
          offset = body.received_bytes;
          retries = 0;
          conflicts = 0;
          say("Uploading…");
          show(offset);
        } else if (status === 409 && typeof body.received_bytes === "number") {
          // Not the offset the server has (a retry that did arrive, another tab): resume there.
          conflicts += 1;
          if (conflicts > MAX_CONFLICTS) {
            return stopped(body.error || "The server keeps refusing this chunk.");
          }
          upload = session.upload = body;
          offset = body.received_bytes;
          show(offset);
        } else if (status >= 500 || status === 429) {
          retries += 1;
          if (retries > RETRIES) {
            return stopped(body.error || `The server could not store the file (HTTP ${status}). Press Resume upload to try again.`);
          }
          const wait = Math.min(30, 2 ** (retries - 1));
          say(`${body.error || "The server could not store the chunk."} Trying again in ${wait} s…`);
          await sleep(wait * 1000);
          if (cancelled()) throw new Paused();
          if (typeof body.received_bytes === "number") offset = body.received_bytes;
        } else if (mendable(status)) {
          // Kept: after logging in again (or reloading), Resume upload continues from here.
          return stopped(reason(answer, `The upload stopped (HTTP ${status}).`));
        } else {
          return stopped(reason(answer, `The server refused the chunk (HTTP ${status}).`), true);
        }
      }
    } catch (e) {
      if (e instanceof Paused) {
        if (session === current && session.run === mine) {
          say(`Paused at ${bytes(offset)} of ${bytes(file.size)}. Press Resume upload to continue.`);
        }
        return;
      }
      throw e;
    } finally {
      window.removeEventListener("beforeunload", warn);
      if (session === current && session.run === mine) input.disabled = false;
    }
    if (upload.status === "DELETED") {
      // Cancelled or deleted on the page meanwhile (another tab, another admin): the server
      // refused the chunk with the upload's state; nothing more is sent.
      return stopped(upload.error || "This upload was cancelled: what was received is deleted. Choose the file again to start a new upload.", true);
    }
    // Every byte is in: the server checks the file now. Its page shows the check.
    forget(file);
    show(file.size);
    pauseButton.hidden = true;
    say("Uploaded. Checking the file…");
    window.location.assign(upload.page_url);
  }

  function stopped(message, final = false) {
    fail(message);
    say("");
    pauseButton.hidden = true;
    resumeButton.hidden = final;
    if (final && current) forget(current.file);
  }

  function warn(event) {
    // The browser shows its own words; the upload can be resumed by choosing the file again.
    event.preventDefault();
    event.returnValue = "";
  }

  // --- controls ------------------------------------------------------------------------------

  function chosen() {
    const file = input.files && input.files[0];
    if (!file) return;
    if (current && current.xhr) {
      current.paused = true;
      current.xhr.abort();
    }
    begin(file).catch((e) => stopped(`The upload stopped: ${e.message}`));
  }

  input.addEventListener("change", chosen);
  // A file chosen while this script was still loading: its change event has passed.
  if (input.files && input.files.length) chosen();

  pauseButton.addEventListener("click", () => {
    if (!current) return;
    current.paused = true;
    pauseButton.hidden = true;
    resumeButton.hidden = false;
    if (current.xhr) current.xhr.abort();
  });

  resumeButton.addEventListener("click", async () => {
    if (!current || !current.upload) {
      if (current) return begin(current.file);
      return;
    }
    clearError();
    current.paused = false;
    resumeButton.hidden = true;
    pauseButton.hidden = false;
    say("Resuming…");
    try {
      const answer = await send("GET", current.upload.status_url);
      const { status, body } = answer;
      if (status !== 200) {
        const why = reason(answer, `The upload can no longer be resumed (HTTP ${status}).`);
        return stopped(why, !mendable(status));
      }
      current.upload = body;
      show(body.received_bytes);
      resetRate();
      await run();
    } catch (e) {
      if (e instanceof NetworkError) {
        return stopped("The connection is still down. Press Resume upload to try again.");
      }
      if (!(e instanceof Paused)) stopped(`The upload stopped: ${e.message}`);
    }
  });
})();
