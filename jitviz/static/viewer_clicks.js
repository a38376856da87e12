// Appended by jitviz.viewer to graphviz-anywidget 0.8.0's bundle, whose widget cannot report
// clicks: wraps its render so that a click on a node or on a cluster's frame is sent to Python as
// {event: "jitviz-click", name: <the element's DOT name>}.
function jitvizReportClicks(render) {
  return async function ({ model, el }) {
    // Capture phase: the bundled graphvizsvg handles clicks on nodes itself.
    el.addEventListener("click", (event) => {
      const element = event.target.closest("g.node, g.cluster");
      if (!element) return;
      // The bundled graphvizsvg moves a node's <title> (its DOT name) into data-name.
      const title = element.querySelector(":scope > title");
      const name = element.getAttribute("data-name") || (title && title.textContent);
      if (name) model.send({ event: "jitviz-click", name });
    }, true);
    return render({ model, el });
  };
}
