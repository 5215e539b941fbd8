// Checks Kubernetes manifests without a cluster: every YAML document of the folders given is
// validated against the API schema of its apiVersion and kind (kubernetes-models, generated
// from the Kubernetes OpenAPI spec), then cross-checked for what one object's schema cannot
// say (references between objects, selectors, ports, ${VAR}s of mounted configuration).
//
//   node tests/deploy/check-k8s.mjs deploy/kubernetes [MORE_FOLDERS...]
//
// Prints one line per problem, "FILE: KIND/NAME: FIELD.PATH: REASON", and exits 1 when there
// is any; 0 and a summary line when there is none; 2 when a folder cannot be read. Like
// `kubectl apply -f FOLDER`, it reads the folder's *.yaml, *.yml and *.json files, not its
// subfolders. Runs on Node 18 (Debian 12's). Used by tests/integration/test_deploy.py.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const MODELS_VERSION = require("kubernetes-models/package.json").version;

const problems = [];
function problem(file, obj, path, reason) {
  problems.push({ file, obj, path, reason });
}

// ---- reading -------------------------------------------------------------------------------

function readFolder(dir) {
  let names;
  try {
    names = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    console.error(`check-k8s: ${dir}: ${e.message}`);
    process.exit(2);
  }
  const out = [];
  for (const entry of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isFile() || !/\.(ya?ml|json)$/.test(entry.name)) continue;
    const file = join(dir, entry.name);
    const text = readFileSync(file, "utf8");
    // YAML 1.1, as the API machinery reads it (sigs.k8s.io/yaml): "yes" is a boolean there.
    const docs = parseAllDocuments(text, { version: "1.1", prettyErrors: true });
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length) {
        for (const err of doc.errors) {
          const at = err.linePos ? `:${err.linePos[0].line}:${err.linePos[0].col}` : "";
          const message = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
          problem(file + at, "", "", `YAML: ${message}`);
        }
        continue;
      }
      const value = doc.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) continue; // an empty document
      out.push({ file, doc: value });
    }
  }
  return out;
}

function objName(doc) {
  const kind = doc && typeof doc.kind === "string" ? doc.kind : "?";
  const name = doc && doc.metadata && typeof doc.metadata.name === "string" ? doc.metadata.name : "?";
  return `${kind}/${name}`;
}

// "/spec/template/spec/containers/0/ports" -> "spec.template.spec.containers[0].ports"
function fieldPath(pointer) {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

// ---- the schema ----------------------------------------------------------------------------

// The model class of an apiVersion and kind, or null when kubernetes-models has none.
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  if (!/^([a-z0-9.-]+\/)?v[0-9]+[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return null;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return typeof mod[kind] === "function" ? mod[kind] : null;
  } catch {
    return null;
  }
}

// The generated validators check types, formats, enums and required fields, but take any field
// a schema does not list (they are built without additionalProperties). The API server's
// strict field validation refuses those, and a misspelt field is the most common mistake, so
// the fields a schema lists are found by watching the validator: for every object in the
// document it reads each property its schema declares, and it enumerates the keys of a map
// (labels, data). An object whose keys were enumerated is a map; one of which nothing was read
// has no declared properties (free-form); in any other, a key the validator never read is one
// its schema does not have.
function watched(value, pointer, seen) {
  if (Array.isArray(value)) return value.map((v, i) => watched(v, `${pointer}/${i}`, seen));
  if (value === null || typeof value !== "object") return value;
  const record = { pointer, keys: Object.keys(value), read: new Set(), listed: false };
  seen.push(record);
  const copy = {};
  for (const k of record.keys) {
    const escaped = k.replace(/~/g, "~0").replace(/\//g, "~1"); // JSON pointer
    copy[k] = watched(value[k], `${pointer}/${escaped}`, seen);
  }
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.listed = true;
      return Reflect.ownKeys(target);
    },
  });
}

async function checkSchema({ file, doc }) {
  const obj = objName(doc);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    problem(file, obj, "", "a document must be a mapping (an object)");
    return;
  }
  for (const field of ["apiVersion", "kind"]) {
    if (typeof doc[field] !== "string" || !doc[field]) problem(file, obj, field, "required field missing");
  }
  if (!doc.metadata || typeof doc.metadata.name !== "string" || !doc.metadata.name)
    problem(file, obj, "metadata.name", "required field missing");
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") return;
  const Model = await modelFor(doc.apiVersion, doc.kind);
  if (!Model) {
    problem(file, obj, "apiVersion", `no schema for apiVersion "${doc.apiVersion}" kind "${doc.kind}" ` +
      `(kubernetes-models ${MODELS_VERSION}): a misspelt kind, or an API version Kubernetes does not serve`);
    return;
  }
  const seen = [];
  const data = watched(doc, "", seen);
  let errors = [];
  try {
    Model.prototype.validate.call(data);
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    errors = e.errors;
  }
  // One line per field: a oneOf (int-or-string, quantity) fails with one error per branch.
  const byPath = new Map();
  for (const err of errors) {
    let pointer = err.instancePath || "";
    let reason = err.message || err.keyword;
    if (err.keyword === "required") {
      pointer += `/${err.params.missingProperty}`;
      reason = "required field missing";
    } else if (err.keyword === "enum") {
      reason = `must be one of ${err.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    if (!byPath.has(pointer)) byPath.set(pointer, []);
    if (!byPath.get(pointer).includes(reason)) byPath.get(pointer).push(reason);
  }
  for (const [pointer, reasons] of byPath) problem(file, obj, fieldPath(pointer), reasons.join("; "));
  for (const r of seen) {
    if (r.listed || r.read.size === 0) continue;
    for (const k of r.keys) {
      if (!r.read.has(k)) problem(file, obj, fieldPath(`${r.pointer}/${k}`), "unknown field (not in the schema)");
    }
  }
}

// ---- cross-checks ----------------------------------------------------------------------------

const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v) => (Array.isArray(v) ? v : []);

// The pod templates of the folder: {file, obj, doc, where, labels, spec}.
function podTemplates(objects) {
  const out = [];
  for (const { file, doc } of objects) {
    if (!isMap(doc) || !isMap(doc.spec)) continue;
    let template = null;
    let where = "";
    if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"].includes(doc.kind)) {
      template = doc.spec.template;
      where = "spec.template";
    } else if (doc.kind === "CronJob") {
      template = doc.spec.jobTemplate && doc.spec.jobTemplate.spec && doc.spec.jobTemplate.spec.template;
      where = "spec.jobTemplate.spec.template";
    } else if (doc.kind === "Pod") {
      template = { metadata: doc.metadata, spec: doc.spec };
      where = "";
    }
    if (!isMap(template) || !isMap(template.spec)) continue;
    const labels = isMap(template.metadata) && isMap(template.metadata.labels) ? template.metadata.labels : {};
    out.push({ file, obj: objName(doc), doc, where, labels, spec: template.spec });
  }
  return out;
}

const sub = (where, rest) => (where ? `${where}.${rest}` : rest);

// Whether a metav1.LabelSelector selects these labels. An empty selector selects everything.
function selects(selector, labels) {
  if (!isMap(selector)) return false;
  for (const [k, v] of Object.entries(isMap(selector.matchLabels) ? selector.matchLabels : {})) {
    if (labels[k] !== String(v)) return false;
  }
  for (const e of list(selector.matchExpressions)) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = list(e.values).map(String);
    if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// A Service's selector: a plain map of labels, all of which must match.
const selectsMap = (selector, labels) => selects({ matchLabels: selector }, labels);

function containersOf(spec) {
  const out = [];
  for (const field of ["initContainers", "containers"]) {
    list(spec[field]).forEach((c, i) => {
      if (isMap(c)) out.push({ c, at: `${field}[${i}]` });
    });
  }
  return out;
}

// "8080/TCP (http)" style list of a container's ports, for messages.
function portList(c) {
  const ports = list(c.ports).filter(isMap);
  if (!ports.length) return "it declares none";
  return "it has " + ports.map((p) => (p.name ? `${p.containerPort} (${p.name})` : `${p.containerPort}`)).join(", ");
}

function hasPort(c, port) {
  return list(c.ports).some((p) => isMap(p) && (typeof port === "string" ? p.name === port : p.containerPort === port));
}

function find(objects, kind, name) {
  return objects.find(
    ({ doc }) => isMap(doc) && doc.kind === kind && isMap(doc.metadata) && doc.metadata.name === name,
  );
}

function keysOf(doc) {
  const keys = [];
  for (const field of doc.kind === "Secret" ? ["data", "stringData"] : ["data", "binaryData"]) {
    if (isMap(doc[field])) keys.push(...Object.keys(doc[field]));
  }
  return keys;
}

// A reference to a ConfigMap or Secret (and optionally its key) that must be in the folder.
function checkRef(objects, t, path, kind, name, key, optional) {
  if (optional === true) return;
  const found = find(objects, kind, name);
  if (!found) {
    problem(t.file, t.obj, path, `no ${kind} "${name}" in the folder`);
    return null;
  }
  if (key !== undefined && !keysOf(found.doc).includes(key)) {
    const have = keysOf(found.doc);
    const listed = have.length ? have.map((k) => `"${k}"`).join(", ") : "none";
    problem(t.file, t.obj, path, `${kind} "${name}" has no key "${key}" (it has ${listed})`);
  }
  return found;
}

// A volume source naming a ConfigMap or Secret: the object, and the keys of its items if any.
function checkVolumeRef(objects, t, at, kind, nameField, ref) {
  const items = list(ref.items);
  if (!items.length) {
    checkRef(objects, t, `${at}.${nameField}`, kind, ref[nameField], undefined, ref.optional);
    return;
  }
  items.forEach((it, k) =>
    checkRef(objects, t, `${at}.items[${k}].key`, kind, ref[nameField], it && it.key, ref.optional));
}

// ${NAME} in a configuration text ($${ is a literal); for YAML, only in values, not comments.
function configVars(key, text) {
  const strings = [];
  if (/\.ya?ml$/.test(key)) {
    const walk = (v) => {
      if (typeof v === "string") strings.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (isMap(v)) Object.entries(v).forEach(([k, x]) => { strings.push(k); walk(x); });
    };
    try {
      for (const d of parseAllDocuments(text)) walk(d.toJS());
    } catch {
      strings.push(text);
    }
  } else {
    strings.push(text);
  }
  const names = new Set();
  for (const s of strings) {
    for (const m of s.matchAll(/(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) if (!m[1]) names.add(m[2]);
  }
  return names;
}

function crossCheck(objects) {
  const templates = podTemplates(objects);

  for (const t of templates) {
    const doc = t.doc;
    // The workload's own selector must select its template's pods (else the API refuses it).
    if (t.where && isMap(doc.spec.selector) && doc.kind !== "Job" && doc.kind !== "CronJob") {
      if (!selects(doc.spec.selector, t.labels))
        problem(t.file, t.obj, "spec.selector", "does not match the labels of its own pod template");
    }
    // A StatefulSet's governing Service: exists, is headless, selects these pods.
    if (doc.kind === "StatefulSet" && doc.spec.serviceName !== undefined) {
      const name = doc.spec.serviceName;
      const svc = find(objects, "Service", name);
      if (!svc) {
        problem(t.file, t.obj, "spec.serviceName", `no Service "${name}" in the folder`);
      } else {
        const s = isMap(svc.doc.spec) ? svc.doc.spec : {};
        if (s.clusterIP !== "None")
          problem(t.file, t.obj, "spec.serviceName",
            `Service "${name}" is not headless (clusterIP: None), so the pods get no DNS names`);
        if (!isMap(s.selector) || !selectsMap(s.selector, t.labels))
          problem(t.file, t.obj, "spec.serviceName", `Service "${name}" does not select this StatefulSet's pods`);
      }
    }

    const spec = t.spec;
    const volumes = new Map(list(spec.volumes).filter(isMap).map((v) => [v.name, v]));
    const claims = list(doc.kind === "StatefulSet" ? doc.spec.volumeClaimTemplates : [])
      .filter(isMap)
      .map((v) => v.metadata && v.metadata.name);

    // Volumes that name ConfigMaps and Secrets.
    list(spec.volumes).forEach((v, i) => {
      if (!isMap(v)) return;
      const at = sub(t.where, `spec.volumes[${i}]`);
      if (isMap(v.configMap)) checkVolumeRef(objects, t, `${at}.configMap`, "ConfigMap", "name", v.configMap);
      if (isMap(v.secret)) checkVolumeRef(objects, t, `${at}.secret`, "Secret", "secretName", v.secret);
      list(isMap(v.projected) ? v.projected.sources : []).forEach((s, j) => {
        const from = `${at}.projected.sources[${j}]`;
        if (isMap(s) && isMap(s.configMap))
          checkVolumeRef(objects, t, `${from}.configMap`, "ConfigMap", "name", s.configMap);
        if (isMap(s) && isMap(s.secret)) checkVolumeRef(objects, t, `${from}.secret`, "Secret", "name", s.secret);
      });
    });

    for (const { c, at: cat } of containersOf(spec)) {
      const at = sub(t.where, `spec.${cat}`);
      // Probes on ports the container declares (by number or by name).
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const p = c[probe];
        if (!isMap(p)) continue;
        for (const action of ["httpGet", "tcpSocket", "grpc"]) {
          if (!isMap(p[action]) || p[action].port === undefined) continue;
          if (!hasPort(c, p[action].port))
            problem(t.file, t.obj, `${at}.${probe}.${action}.port`,
              `port ${JSON.stringify(p[action].port)} is not one of the container's ports (${portList(c)})`);
        }
      }
      // Mounts of volumes that exist.
      list(c.volumeMounts).forEach((m, i) => {
        if (isMap(m) && !volumes.has(m.name) && !claims.includes(m.name))
          problem(t.file, t.obj, `${at}.volumeMounts[${i}].name`, `no volume or volumeClaimTemplate "${m.name}"`);
      });
      // The environment: references to ConfigMaps and Secrets, $(VAR) to earlier variables.
      const defined = new Set();
      list(c.envFrom).forEach((e, i) => {
        if (!isMap(e)) return;
        for (const [field, kind] of [["configMapRef", "ConfigMap"], ["secretRef", "Secret"]]) {
          if (!isMap(e[field])) continue;
          const ref = e[field];
          const found = checkRef(objects, t, `${at}.envFrom[${i}].${field}.name`, kind, ref.name, undefined, ref.optional);
          if (found) keysOf(found.doc).forEach((k) => defined.add((e.prefix || "") + k));
        }
      });
      list(c.env).forEach((e, i) => {
        if (!isMap(e)) return;
        const vf = isMap(e.valueFrom) ? e.valueFrom : {};
        for (const [field, kind] of [["configMapKeyRef", "ConfigMap"], ["secretKeyRef", "Secret"]]) {
          const ref = vf[field];
          if (isMap(ref)) checkRef(objects, t, `${at}.env[${i}].valueFrom.${field}`, kind, ref.name, ref.key, ref.optional);
        }
        // The kubelet leaves a $(NAME) it cannot resolve as it is, silently.
        if (typeof e.value === "string") {
          for (const m of e.value.matchAll(/(\$?)\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)) {
            if (!m[1] && !defined.has(m[2]))
              problem(t.file, t.obj, `${at}.env[${i}].value`,
                `$(${m[2]}) is not a variable defined before ${e.name}: the container would get it as literal text`);
          }
        }
        defined.add(e.name);
      });
      // ${VAR}s of configuration files this container mounts from ConfigMaps (Horus expands
      // them at start and refuses to start when one is not set).
      list(c.volumeMounts).forEach((m, i) => {
        const v = isMap(m) && volumes.get(m.name);
        if (!v || !isMap(v.configMap)) return;
        const cm = find(objects, "ConfigMap", v.configMap.name);
        if (!cm || !isMap(cm.doc.data)) return;
        const items = list(v.configMap.items);
        const keys = items.length ? items.map((it) => it && it.key) : Object.keys(cm.doc.data);
        for (const key of keys) {
          if (typeof cm.doc.data[key] !== "string") continue;
          for (const name of configVars(key, cm.doc.data[key])) {
            if (!defined.has(name))
              problem(t.file, t.obj, `${at}.volumeMounts[${i}]`,
                `ConfigMap "${cm.doc.metadata.name}" key "${key}" uses \${${name}}, which the container's env does not set`);
          }
        }
      });
    }
  }

  // Services: their selectors select pods of the folder, their target ports are ports of them.
  for (const { file, doc } of objects) {
    if (!isMap(doc) || doc.kind !== "Service" || !isMap(doc.spec) || !isMap(doc.spec.selector)) continue;
    const obj = objName(doc);
    const matched = templates.filter((t) => selectsMap(doc.spec.selector, t.labels));
    if (!matched.length) {
      problem(file, obj, "spec.selector", "matches no pod template in the folder");
      continue;
    }
    list(doc.spec.ports).forEach((p, i) => {
      if (!isMap(p)) return;
      const target = p.targetPort !== undefined ? p.targetPort : p.port;
      for (const t of matched) {
        if (!containersOf(t.spec).some(({ c }) => hasPort(c, target)))
          problem(file, obj, `spec.ports[${i}].targetPort`,
            `port ${JSON.stringify(target)} is not a container port of ${t.obj}`);
      }
    });
  }

  // PodDisruptionBudgets: their selectors select pods of the folder.
  for (const { file, doc } of objects) {
    if (!isMap(doc) || doc.kind !== "PodDisruptionBudget" || !isMap(doc.spec)) continue;
    if (!templates.some((t) => selects(doc.spec.selector, t.labels)))
      problem(file, objName(doc), "spec.selector", "matches no pod template in the folder");
  }

  // One name per kind.
  const names = new Map();
  for (const { file, doc } of objects) {
    if (!isMap(doc)) continue;
    const id = `${doc.apiVersion} ${objName(doc)}`;
    if (names.has(id)) problem(file, objName(doc), "metadata.name", `also defined in ${names.get(id)}`);
    else names.set(id, file);
  }
}

// ---- main ------------------------------------------------------------------------------------

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error("usage: node check-k8s.mjs FOLDER [FOLDER...]");
  process.exit(2);
}
const objects = dirs.flatMap(readFolder);
for (const o of objects) await checkSchema(o);
crossCheck(objects);
const files = new Set(objects.map((o) => o.file)).size;
for (const p of problems) console.log([p.file, p.obj, p.path, p.reason].filter((x) => x !== "").join(": "));
if (problems.length) {
  console.log(`check-k8s: ${problems.length} problem(s) in ${objects.length} object(s) of ${files} file(s)`);
  process.exit(1);
}
if (!objects.length) {
  console.log(`check-k8s: no Kubernetes objects in ${dirs.join(", ")}`);
  process.exit(1);
}
console.log(`check-k8s: ${objects.length} object(s) in ${files} file(s), no problems ` +
  `(schemas of kubernetes-models ${MODELS_VERSION})`);
