// Renders /docs from /openapi.json in the browser. Text only goes through
// textContent, never parsed as markup, so the document cannot inject any.
"use strict";
(function () {
  var main = document.getElementById("ops");
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function table(head, rows) {
    var t = el("table"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) { var td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c; row.appendChild(td); });
      t.appendChild(row);
    });
    return t;
  }
  function render(doc) {
    document.title = doc.info.title;
    document.getElementById("title").textContent = doc.info.title + " (version " + doc.info.version + ")";
    document.getElementById("description").textContent = doc.info.description || "";
    var shared = (doc.components && doc.components.responses) || {};
    var ops = [];
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        ops.push({ path: path, method: method.toUpperCase(), op: doc.paths[path][method] });
      });
    });
    ops.sort(function (a, b) { var x = a.path + " " + a.method, y = b.path + " " + b.method; return x < y ? -1 : x > y ? 1 : 0; });
    var nav = el("ul");
    ops.forEach(function (o) {
      var id = o.method + o.path, li = el("li"), a = el("a");
      a.href = "#" + id;
      a.appendChild(el("code", o.method + " " + o.path));
      li.appendChild(a);
      nav.appendChild(li);

      var s = el("section", null, "operation"), h = el("h2");
      s.id = id;
      h.appendChild(el("code", o.method, "method"));
      h.appendChild(document.createTextNode(" "));
      h.appendChild(el("code", o.path, "path"));
      s.appendChild(h);
      s.appendChild(el("p", o.op.summary || ""));
      if (o.op.description) s.appendChild(el("p", o.op.description));
      var sec = [];
      (o.op.security || doc.security || []).forEach(function (req) {
        var names = Object.keys(req);
        if (names.length === 0) sec.push("none"); else sec.push.apply(sec, names);
      });
      if (o.op.security && o.op.security.length === 0) sec = ["none"];
      sec.sort();
      s.appendChild(el("p", "Authentication: " + (sec.length ? sec.join(" or ") : "none")));
      if (o.op.parameters && o.op.parameters.length) {
        s.appendChild(el("h3", "Parameters"));
        s.appendChild(table(["name", "in", "type", "required", "description"], o.op.parameters.map(function (p) {
          var sc = p.schema || {}, typ = (sc.type || "") + (sc.format ? " (" + sc.format + ")" : "");
          return [el("code", p.name), p.in, typ, p.required ? "yes" : "no", p.description || ""];
        })));
      }
      if (o.op.requestBody) {
        s.appendChild(el("h3", "Request body"));
        Object.keys(o.op.requestBody.content || {}).forEach(function (ct) {
          var ref = ((o.op.requestBody.content[ct].schema || {}).$ref || "").replace("#/components/schemas/", "");
          s.appendChild(el("p")).appendChild(el("code", ct + " " + ref));
        });
      }
      s.appendChild(el("h3", "Responses"));
      var codes = Object.keys(o.op.responses || {}).sort();
      s.appendChild(table(["status", "description", "content"], codes.map(function (code) {
        var r = o.op.responses[code];
        if (r.$ref) r = shared[r.$ref.replace("#/components/responses/", "")] || {};
        return [code, r.description || "", Object.keys(r.content || {}).sort().join(", ")];
      })));
      main.appendChild(s);
    });
    document.getElementById("nav").appendChild(nav);
    main.setAttribute("data-state", "ready");
  }
  fetch("/openapi.json", { headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(render)
    .catch(function (e) {
      main.setAttribute("data-state", "error");
      main.appendChild(el("p", "Could not load /openapi.json: " + e.message, "error"));
    });
})();
