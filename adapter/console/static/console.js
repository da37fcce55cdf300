// praxis-adapter console: select-all for the dead-letter list, and a
// confirmation before a replay. No framework, no build step.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (b) { b.checked = all.checked; });
    });
  }
  var form = document.getElementById("replay-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      var n = document.querySelectorAll("input.pick:checked").length;
      if (n === 0) { e.preventDefault(); alert("Select at least one dead letter."); }
    });
  }
});
