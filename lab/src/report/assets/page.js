// locklab report: a step slider, keys and hover for every sequence diagram.
// No network, no library: the page must open from a file anywhere. Kept
// free of the less-than sign and the ampersand, so that the page stays
// well-formed XML as well as HTML (the unit tests parse it).
(function () {
  "use strict";

  function text(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    e.textContent = content;
    return e;
  }

  function describe(info, row) {
    while (info.firstChild) info.removeChild(info.firstChild);
    var d = row.dataset;
    var lines = Array.prototype.map.call(row.querySelectorAll("text.says tspan"), function (t) {
      return t.textContent;
    });
    var head = text("b", "", "Step " + d.n + (d.at ? " · " + d.at : "") + ": ");
    info.appendChild(head);
    info.appendChild(document.createTextNode(lines.join(" ")));
    var facts = [["sent", d.cmd], ["reply", d.reply], ["after it", d.state]];
    facts.forEach(function (pair) {
      if (!pair[1]) return;
      info.appendChild(document.createElement("br"));
      info.appendChild(text("span", "k", pair[0]));
      info.appendChild(text("code", "", pair[1]));
    });
  }

  function setup(fig) {
    var svg = fig.querySelector("svg.seq");
    if (!svg) return;
    var rows = Array.prototype.slice.call(svg.querySelectorAll("g.row"));
    var marks = Array.prototype.slice.call(svg.querySelectorAll("rect.hl"));
    var slider = fig.querySelector("input.step");
    var pos = fig.querySelector("output.pos");
    var info = fig.querySelector(".info");
    var play = fig.querySelector("button.play");
    var curtain = svg.querySelector(".curtain");
    var height = svg.viewBox.baseVal.height;
    var timer = null;
    if (!rows.length || !slider) return;

    function show(k) {
      k = Math.max(1, Math.min(rows.length, k));
      slider.value = String(k);
      rows.forEach(function (r, i) { r.classList.toggle("cur", i === k - 1); });
      marks.forEach(function (m, i) { m.classList.toggle("cur", i === k - 1); });
      var y1 = parseFloat(rows[k - 1].dataset.y1);
      if (curtain) {
        var hidden = k === rows.length ? 0 : Math.max(0, height - y1);
        curtain.setAttribute("y", String(y1));
        curtain.setAttribute("height", String(hidden));
      }
      fig.dataset.step = String(k);
      if (pos) pos.textContent = k + " / " + rows.length;
      describe(info, rows[k - 1]);
    }

    function stop() {
      if (timer !== null) { clearInterval(timer); timer = null; }
      if (play) play.textContent = "▶";
    }

    slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
    fig.addEventListener("keydown", function (ev) {
      if (ev.target === slider) return; // the slider steps itself
      var k = parseInt(slider.value, 10);
      var keys = { ArrowRight: k + 1, ArrowDown: k + 1, ArrowLeft: k - 1, ArrowUp: k - 1, Home: 1, End: rows.length };
      if (!(ev.key in keys)) return;
      ev.preventDefault();
      stop();
      show(keys[ev.key]);
    });
    rows.forEach(function (r, i) {
      r.addEventListener("mouseenter", function () {
        if (marks[i]) marks[i].classList.add("hover");
        describe(info, r);
      });
      r.addEventListener("mouseleave", function () {
        if (marks[i]) marks[i].classList.remove("hover");
        describe(info, rows[parseInt(slider.value, 10) - 1]);
      });
      r.addEventListener("click", function () { stop(); show(i + 1); fig.focus(); });
    });
    if (play) {
      play.addEventListener("click", function () {
        if (timer !== null) { stop(); return; }
        var k = parseInt(slider.value, 10) >= rows.length ? 0 : parseInt(slider.value, 10);
        play.textContent = "❚❚";
        show(k + 1);
        timer = setInterval(function () {
          var next = parseInt(slider.value, 10) + 1;
          if (next > rows.length) { stop(); return; }
          show(next);
        }, 900);
      });
    }
    var breaking = rows.filter(function (r) { return r.classList.contains("breaks"); });
    show(rows.length);
    describe(info, breaking.length ? breaking[breaking.length - 1] : rows[rows.length - 1]);
  }

  Array.prototype.forEach.call(document.querySelectorAll("figure.diagram"), setup);
  Array.prototype.forEach.call(document.querySelectorAll("code.copy"), function (c) {
    c.addEventListener("click", function () {
      var range = document.createRange();
      range.selectNodeContents(c);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    });
  });
  document.documentElement.setAttribute("data-ready", "1");
  if (typeof performance === "object") performance.mark("locklab-ready");
})();
