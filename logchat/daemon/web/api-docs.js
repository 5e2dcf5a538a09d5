// Renders the OpenAPI document as a list of operations: method, path, who may call it, summary,
// parameters, request body and responses. No framework: the page must work without a build step.

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
};

const schemaName = (schema) => (schema && schema.$ref ? schema.$ref.split("/").pop() : schema ? schema.type || "" : "");

function operation(path, method, op) {
  const section = el("section", { class: "operation" });
  section.append(el("h2", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), " ", el("code", {}, path)));
  section.append(el("p", {}, op.summary || ""));
  section.append(el("p", { class: "access" }, `Access: ${op["x-logchat-access"]}`));
  const params = op.parameters || [];
  if (params.length) {
    const list = el("ul");
    for (const p of params) list.append(el("li", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""})`));
    section.append(el("h3", {}, "Parameters"), list);
  }
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    section.append(el("h3", {}, "Body"), el("p", {}, el("code", {}, schemaName(schema))));
  }
  const responses = el("ul");
  for (const [status, response] of Object.entries(op.responses)) responses.append(el("li", {}, `${status}: ${response.description}`));
  section.append(el("h3", {}, "Responses"), responses);
  return section;
}

async function render() {
  const target = document.getElementById("endpoints");
  try {
    const response = await fetch("/api/v1/openapi.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    target.replaceChildren();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) target.append(operation(path, method, op));
    }
  } catch (error) {
    target.textContent = `Could not load the API document: ${error.message}`;
  }
}

render();
