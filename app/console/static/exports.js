// The audit page's export jobs: each queued or running job's row polls its
// progress (JSON from /console/audit/exports/<id>/progress) and updates its bar
// in place, then shows its downloads: no reload. Without JavaScript the page
// shows the progress as it was when served.
(function () {
  "use strict";
  function poll(row) {
    fetch(row.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        var percent = p.percent === null ? 0 : p.percent;
        row.querySelector("progress").value = percent;
        row.querySelector("progress").textContent = percent + " %";
        var words = p.status + (p.percent === null ? "" : ", " + p.percent + " %");
        if (p.stage && p.status === "running") words += " (" + p.stage + ": " + p.done + " of " + p.total + ")";
        if (p.error) words += ": " + p.error;
        row.querySelector(".status").textContent = words;
        if (p.status === "succeeded") {
          var list = row.querySelector("ul.files");
          list.replaceChildren.apply(list, p.files.map(function (f) {
            var li = document.createElement("li"), a = document.createElement("a");
            a.href = f.url; a.textContent = f.name; li.appendChild(a); return li;
          }));
          row.querySelector("a.archive").hidden = false;
          row.querySelector("details.files").hidden = false;
        } else if (p.status !== "failed") {
          setTimeout(function () { poll(row); }, 300);
        }
      })
      .catch(function () { setTimeout(function () { poll(row); }, 1000); });
  }
  document.querySelectorAll("tr[data-progress-url]").forEach(poll);
})();
