// jitviz.explain: Python source beside its picture, linked both ways.
// Python sends three things: `svg` (laid out once by Graphviz, repainted when a control moves),
// `source_html` (escaped, syntax-coloured lines, each <div class="jv-line" data-key="file:line">)
// and `links` (line -> node ids, node -> lines, colours, edges, details). This file only toggles
// classes and fills the details panel with text; it never talks back to the kernel.

function render({ model, el }) {
  el.classList.add("jv-explain");
  el.tabIndex = 0; // so that the arrow keys reach it
  el.innerHTML =
    '<div class="jv-panes"><div class="jv-source"></div><div class="jv-graph"></div></div>' +
    '<div class="jv-details"></div>' +
    '<div class="jv-help">hover or click a line or a node · ↑/↓ line by line · ←/→ along edges</div>';
  const sourcePane = el.querySelector(".jv-source");
  const graphPane = el.querySelector(".jv-graph");
  const detailsPane = el.querySelector(".jv-details");

  let links = model.get("links");
  let nodes = new Map(); // node id -> <g class="node">
  let lines = new Map(); // line key -> <div class="jv-line">
  let lineOrder = [];
  let successors = new Map();
  let predecessors = new Map();
  let lit = [];
  const selection = { line: null, node: null };

  function index() {
    nodes = new Map();
    for (const g of graphPane.querySelectorAll("g.node")) {
      nodes.set(g.id, g);
      const colour = links.colours[g.id];
      if (colour !== undefined) g.classList.add("jv-c" + colour);
    }
    lines = new Map();
    for (const div of sourcePane.querySelectorAll(".jv-line")) lines.set(div.dataset.key, div);
    lineOrder = [...lines.keys()];
    successors = new Map();
    predecessors = new Map();
    for (const [tail, head] of links.edges) {
      if (!successors.has(tail)) successors.set(tail, []);
      if (!predecessors.has(head)) predecessors.set(head, []);
      successors.get(tail).push(head);
      predecessors.get(head).push(tail);
    }
  }

  function paint() {
    links = model.get("links");
    sourcePane.innerHTML = model.get("source_html");
    graphPane.innerHTML = model.get("svg");
    lit = [];
    lifted = [];
    shown = null;
    makeVeil();
    index();
    restore();
  }

  // Dimming: one translucent veil over the picture, with the lit nodes lifted above it (moved to
  // the end of the SVG, and put back after). That touches only the lit elements, never restyles the
  // thousand others, which is what keeps a hover fast on a big picture.
  let veil = null;
  let lifted = []; // [node, its next sibling before it was lifted], in lifting order
  let shown = null; // what is lit now, so that a repeated hover does nothing

  function makeVeil() {
    const root = graphPane.querySelector("svg g.graph");
    if (!root) return;
    veil = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    // Far larger than any picture (the SVG clips it): no need to measure it, which would force a
    // layout, and would read 0 before the view is attached to the page.
    for (const [name, value] of Object.entries({ x: -1e6, y: -1e6, width: 2e6, height: 2e6 })) {
      veil.setAttribute(name, value);
    }
    veil.setAttribute("class", "jv-veil");
    veil.style.display = "none";
    root.appendChild(veil);
  }

  function light(lineKeys, nodeIds) {
    for (const element of lit) element.classList.remove("jv-lit");
    for (const [node, next] of lifted.reverse()) node.parentNode.insertBefore(node, next);
    lit = [];
    lifted = [];
    for (const key of lineKeys) if (lines.has(key)) lit.push(lines.get(key));
    for (const id of nodeIds) {
      const node = nodes.get(id);
      if (!node) continue;
      lit.push(node);
      if (veil) {
        lifted.push([node, node.nextSibling]);
        veil.parentNode.appendChild(node);
      }
    }
    for (const element of lit) element.classList.add("jv-lit");
    if (veil) veil.style.display = lit.length ? "" : "none";
    el.classList.toggle("jv-focus", lit.length > 0);
  }

  function clear() {
    shown = null;
    light([], []);
  }

  // Scroll a pane just enough to bring `element` into view, without moving the page around it.
  function reveal(pane, element) {
    if (!element) return;
    const box = pane.getBoundingClientRect();
    const r = element.getBoundingClientRect();
    if (r.left < box.left || r.right > box.right) pane.scrollLeft += r.left - box.left - (box.width - r.width) / 2;
    if (r.top < box.top || r.bottom > box.bottom) pane.scrollTop += r.top - box.top - (box.height - r.height) / 2;
  }

  function showLine(key, scroll) {
    if (shown === "line " + key && !scroll) return;
    shown = "line " + key;
    const ids = links.lines[key] || [];
    light([key], ids);
    detailsPane.textContent = "";
    if (scroll) reveal(sourcePane, lines.get(key));
    reveal(graphPane, nodes.get(ids[0]));
  }

  function showNode(id, scroll) {
    if (shown === "node " + id && !scroll) return;
    shown = "node " + id;
    const keys = links.nodes[id] || [];
    light(keys, [id]);
    showDetails(id);
    reveal(sourcePane, lines.get(keys[0]));
    if (scroll) reveal(graphPane, nodes.get(id));
  }

  function showDetails(id) {
    const info = links.details[id];
    detailsPane.textContent = "";
    if (!info) return;
    const add = (tag, text, cls) => {
      const item = document.createElement(tag);
      item.textContent = text;
      if (cls) item.className = cls;
      detailsPane.appendChild(item);
    };
    add("div", info.label, "jv-detail-label");
    if (info.scope) add("div", "in " + info.scope);
    if (info.inputs.length) add("div", "inputs: " + info.inputs.join(", "));
    if (info.outputs.length) add("div", "outputs: " + info.outputs.join(", "));
    add("div", info.source.length ? "from " + info.source.join("; ") : "no source line recorded", "jv-detail-source");
  }

  function restore() {
    if (selection.node !== null && nodes.has(selection.node)) showNode(selection.node, false);
    else if (selection.line !== null && lines.has(selection.line)) showLine(selection.line, false);
    else { clear(); detailsPane.textContent = ""; }
  }

  function select(kind, value) {
    el.focus({ preventScroll: true }); // the notebook takes focus on mousedown; the keys are ours
    selection.line = kind === "line" ? value : null;
    selection.node = kind === "node" ? value : null;
    if (kind === "line") showLine(value, true);
    else showNode(value, true);
  }

  sourcePane.addEventListener("mouseover", (event) => {
    const div = event.target.closest(".jv-line");
    if (div) showLine(div.dataset.key, false);
  });
  graphPane.addEventListener("mouseover", (event) => {
    const g = event.target.closest("g.node");
    if (g && nodes.has(g.id)) showNode(g.id, false);
  });
  sourcePane.addEventListener("mouseleave", restore);
  graphPane.addEventListener("mouseleave", restore);
  sourcePane.addEventListener("click", (event) => {
    const div = event.target.closest(".jv-line");
    if (div) select("line", div.dataset.key);
  });
  graphPane.addEventListener("click", (event) => {
    const g = event.target.closest("g.node");
    if (g && nodes.has(g.id)) select("node", g.id);
  });

  el.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      const current = selection.line ?? (links.nodes[selection.node] || [])[0];
      const at = lineOrder.indexOf(current);
      const next = lineOrder[Math.min(lineOrder.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
      if (next !== undefined) select("line", next);
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const along = event.key === "ArrowRight" ? successors : predecessors;
      const from = selection.node ?? (links.lines[selection.line] || [])[0];
      const next = from === undefined ? nodes.keys().next().value : (along.get(from) || [])[0];
      if (next !== undefined && nodes.has(next)) select("node", next);
    } else {
      return;
    }
    event.preventDefault(); // the arrows would also scroll the page or the pane
    event.stopPropagation();
  });

  model.on("change:svg", paint);
  model.on("change:source_html", paint);
  model.on("change:links", paint);
  paint();
}

export default { render };
