// CNN Lab's drawing canvas (a Streamlit components-v2 component; ui/canvas.py mounts it).
//
// One <canvas> that pen, mouse and finger draw on with round caps and joins, as a marker
// would. Each finished stroke is sent to Python at once (pointer up): the picture as a PNG
// data URL and every stroke's path ([[x, y], ...] in canvas pixels, which Predict redraws
// with MNIST's pen width), with no debounce and nothing laid over the drawing area. An Undo
// button beside the canvas takes the last stroke back. `data` from Python: {size,
// strokeWidth, strokeColor, backgroundColor, restore, label, undo, undoTitle}; `restore`
// ({data, paths} or null) is painted when it changes (the drawing a page kept while the
// canvas was away); label, undo and undoTitle are the texts, in the page's language.

const INSTANCES = new WeakMap(); // parentElement -> this canvas's state
const MAX_UNDO = 50; // strokes Undo can take back

function paintBackground(s) {
  s.ctx.fillStyle = s.data.backgroundColor;
  s.ctx.fillRect(0, 0, s.canvas.width, s.canvas.height);
}

function point(s, event) {
  const box = s.canvas.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * s.canvas.width) / box.width,
    ((event.clientY - box.top) * s.canvas.height) / box.height,
  ];
}

const round1 = (v) => Math.round(v * 10) / 10;

function send(s) {
  s.undo.disabled = s.history.length === 0;
  const paths = s.paths.map((path) => path.map(([x, y]) => [round1(x), round1(y)]));
  s.setStateValue("drawing", { data: s.canvas.toDataURL("image/png"), paths });
}

function start(s, event) {
  if (event.button !== undefined && event.button > 0) return; // right or middle button
  event.preventDefault();
  s.canvas.setPointerCapture?.(event.pointerId);
  s.history.push([s.ctx.getImageData(0, 0, s.canvas.width, s.canvas.height), s.paths.length]);
  if (s.history.length > MAX_UNDO) s.history.shift();
  s.stroking = true;
  s.last = point(s, event);
  s.paths.push([s.last]);
  const [x, y] = s.last;
  const ctx = s.ctx;
  ctx.fillStyle = s.data.strokeColor;
  ctx.beginPath();
  ctx.arc(x, y, s.data.strokeWidth / 2, 0, 2 * Math.PI); // a tap leaves a dot
  ctx.fill();
}

function move(s, event) {
  if (!s.stroking) return;
  const ctx = s.ctx;
  ctx.strokeStyle = s.data.strokeColor;
  ctx.lineWidth = s.data.strokeWidth;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  ctx.beginPath();
  ctx.moveTo(...s.last);
  const path = s.paths[s.paths.length - 1];
  for (const e of events.length ? events : [event]) {
    s.last = point(s, e);
    ctx.lineTo(...s.last);
    path.push(s.last);
  }
  ctx.stroke();
}

function end(s) {
  if (!s.stroking) return;
  s.stroking = false;
  send(s);
}

function undo(s) {
  const before = s.history.pop();
  if (before) {
    s.ctx.putImageData(before[0], 0, 0);
    s.paths.length = before[1];
  }
  send(s);
}

function restore(s, saved, key) {
  paintBackground(s);
  s.paths = saved && Array.isArray(saved.paths) ? saved.paths.map((p) => p.slice()) : [];
  if (!saved || !saved.data) return;
  const image = new Image();
  image.onload = () => {
    if (s.restoredKey === key) s.ctx.drawImage(image, 0, 0, s.canvas.width, s.canvas.height);
  };
  image.src = saved.data;
}

function setup(root, data) {
  const box = document.createElement("div");
  box.className = "cnn-canvas";
  const canvas = document.createElement("canvas");
  canvas.className = "drawing-canvas";
  canvas.width = canvas.height = data.size;
  // not focusable (nothing to do there by keyboard): a picture with a name that says so
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", data.label);
  const undoButton = document.createElement("button");
  undoButton.type = "button";
  undoButton.className = "undo";
  undoButton.textContent = `\u21B6 ${data.undo}`;
  undoButton.title = data.undoTitle;
  undoButton.disabled = true;
  box.append(canvas, undoButton);
  root.appendChild(box);
  const s = { canvas, ctx: canvas.getContext("2d"), undo: undoButton, history: [], paths: [], data };
  canvas.addEventListener("pointerdown", (e) => start(s, e));
  canvas.addEventListener("pointermove", (e) => move(s, e));
  for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
    canvas.addEventListener(name, () => end(s));
  }
  undoButton.addEventListener("click", () => undo(s));
  return s;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".canvas-root");
  let s = INSTANCES.get(parentElement);
  if (!s) {
    s = setup(root, data);
    INSTANCES.set(parentElement, s);
  } else if (!root.contains(s.canvas)) {
    root.appendChild(s.canvas.parentElement);
  }
  s.data = data;
  s.setStateValue = setStateValue;
  const size = `${data.size}px`;
  s.canvas.style.width = s.canvas.style.height = size;
  const key = JSON.stringify(data.restore ?? null);
  if (key !== s.restoredKey) {
    s.restoredKey = key;
    s.history = [];
    s.undo.disabled = true;
    restore(s, data.restore, key);
  }
  return () => {
    INSTANCES.delete(parentElement);
    s.canvas.parentElement?.remove();
  };
}
