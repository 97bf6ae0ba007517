// Adds a copy button to every command; without JavaScript the command
// stays selectable text. Served as a file so the CSP allows no inline script.
"use strict";
document.querySelectorAll("div.command").forEach(function (box) {
  var pre = box.querySelector("pre");
  if (!pre || !navigator.clipboard) {
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }, function () {
      button.textContent = "Select and copy";
    });
  });
  box.appendChild(button);
});
