// THERMALIQ web application: progressive enhancement only; every page works without it.
// Each feature is one function that returns at once when its elements are not on the
// page; `start` runs them all. Keep features separate and small.
"use strict";

/** The session's CSRF token (sent as `x-csrf-token`), from the sign-out form that every
 *  signed-in page carries. */
function csrfToken() {
  const field = document.querySelector("#sign-out input[name=csrf]");
  return field ? field.value : "";
}

/** Table filters: submitting an unchanged status select is pointless, so a change submits
 *  the filter form at once (the button stays for keyboard and no-script users). */
function filterAutoSubmit() {
  const status = document.getElementById("filter-status");
  if (!status || !status.form) return;
  status.addEventListener("change", () => status.form.requestSubmit());
}

// ---- facility page: readings upload (W2) ----

/** Readings upload: sends the chosen CSV file as the body of POST /facilities/{id}/readings
 *  (text/csv, x-csrf-token) with XMLHttpRequest, whose upload progress events drive
 *  progress#upload-progress; the ingest report or the refusal goes to #upload-result.
 *  The button stays disabled without this script (the page's noscript names the CLI). */
function uploadReadings() {
  const form = document.getElementById("upload-readings");
  const file = document.getElementById("readings-file");
  const button = document.getElementById("upload-submit");
  const progress = document.getElementById("upload-progress");
  const result = document.getElementById("upload-result");
  if (!form || !file || !button || !progress || !result) return;
  button.disabled = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      result.textContent = "Choose a CSV file first.";
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("content-type", "text/csv");
    xhr.setRequestHeader("x-csrf-token", csrfToken());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        progress.max = e.total;
        progress.value = e.loaded;
      }
    });
    xhr.addEventListener("load", () => {
      button.disabled = false;
      result.textContent = uploadMessage(xhr);
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      result.textContent = "The upload failed: the server could not be reached.";
    });
    button.disabled = true;
    progress.max = 1;
    progress.value = 0;
    result.textContent = "Uploading " + chosen.name + "…";
    xhr.send(chosen);
  });
}

/** The text of an upload's answer: the ingest report's counts, or the refusal's message
 *  (error pages carry it in #error-message). */
function uploadMessage(xhr) {
  const type = xhr.getResponseHeader("content-type") || "";
  if (xhr.status === 200 && type.startsWith("application/json")) {
    const r = JSON.parse(xhr.responseText);
    return "Stored " + r.received + " readings: " + r.inserted + " inserted, " +
      r.corrected + " corrected, " + r.unchanged + " unchanged, " + r.rejected + " rejected.";
  }
  const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
  const message = page.getElementById("error-message");
  return "Refused (" + xhr.status + "): " + (message ? message.textContent : xhr.statusText);
}

function start() {
  filterAutoSubmit();
  uploadReadings();
}

document.addEventListener("DOMContentLoaded", start);
