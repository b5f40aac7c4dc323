// r3d's 3D viewer: mounts every <div class="r3d-viewer" data-config="ID"> of the page, where
// ID names a <script type="application/json"> holding the viewer's configuration:
//   {items: [{name, kind: "mesh" | "points", glb: ID of a base64 <script>, color, plain, opacity,
//             wireframe, pointSize, lines: [info lines], note}], layout: "overlay" | "side",
//    view: {azimuth, elevation} in degrees (PyTorch3D's: azimuth 0 looks from +z)}
// It needs the three.js bundle (global R3DTHREE) loaded before it. Nothing is fetched: the
// geometry is embedded GLB. window.r3dViewers lists the mounted viewers; each one's `ready`
// is set (and document.body.dataset.r3dReady = "1" once all are) after the first frame.
(function () {
  "use strict";
  const T = window.R3DTHREE;

  function decodeBase64(text) {
    const binary = atob(text.replace(/\s+/g, ""));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function parseGlb(buffer) {
    return new Promise((resolve, reject) => {
      new T.GLTFLoader().parse(buffer, "", (gltf) => resolve(gltf.scene), reject);
    });
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function checkbox(panel, label, checked, onChange) {
    const wrap = element("label", "r3d-check");
    const input = element("input");
    input.type = "checkbox";
    input.checked = checked;
    input.addEventListener("change", () => onChange(input.checked));
    wrap.append(input, document.createTextNode(" " + label));
    panel.append(wrap);
    return input;
  }

  // Each drawable (THREE.Mesh or THREE.Points) under an object.
  function drawables(root) {
    const found = [];
    root.traverse((node) => {
      if (node.isMesh || node.isPoints) found.push(node);
    });
    return found;
  }

  function srgbToLinear(c) {
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }

  // r3d's GLB holds vertex colours as r3d shows them (sRGB values, as in its files and
  // renders); three.js lights and blends colours as linear values, so they are converted once
  // here (else every colour would be drawn too light). Alpha is kept.
  function linearVertexColours(geometry) {
    const colour = geometry.getAttribute("color");
    if (!colour) return;
    const size = colour.itemSize;
    const values = new Float32Array(colour.count * size);
    for (let i = 0; i < colour.count; i++) {
      for (let c = 0; c < size; c++) {
        const value = colour.getComponent(i, c);
        values[i * size + c] = c < 3 ? srgbToLinear(value) : value;
      }
    }
    geometry.setAttribute("color", new T.BufferAttribute(values, size));
  }

  // Applies an item's style to its loaded scene; returns its drawables.
  function styleItem(root, item) {
    const nodes = drawables(root);
    for (const node of nodes) {
      linearVertexColours(node.geometry);
      const material = node.material;
      if (item.plain) {
        material.map = null;
        material.vertexColors = false;
      }
      if (item.color) material.color.set(item.color);
      if (item.opacity !== undefined && item.opacity < 1) {
        material.transparent = true;
        material.opacity = item.opacity;
        material.depthWrite = false;
      }
      if (node.isMesh) {
        material.side = T.DoubleSide;
        material.flatShading = false;
        material.wireframe = Boolean(item.wireframe);
        material.needsUpdate = true;
      } else {
        material.size = item.pointSize || 2;
        material.sizeAttenuation = false;
      }
    }
    return nodes;
  }

  class Viewer {
    constructor(container, config) {
      this.container = container;
      this.config = config;
      this.ready = false;
      this.items = [];
      this.helpers = { box: [], normals: [], axes: null };
      this.renderer = new T.WebGLRenderer({ antialias: true });
      this.renderer.setPixelRatio(window.devicePixelRatio || 1);
      this.renderer.setClearColor(0xf3f4f6, 1);
      this.canvas = this.renderer.domElement;
      this.canvas.className = "r3d-canvas";
      this.scene = new T.Scene();
      this.camera = new T.PerspectiveCamera(35, 1, 0.01, 1000);
      this.scene.add(new T.HemisphereLight(0xffffff, 0x8d8d8d, 1.6));
      const key = new T.DirectionalLight(0xffffff, 1.8);
      key.position.set(1, 1.5, 2);
      this.camera.add(key);
      this.scene.add(this.camera);
      this.controls = new T.OrbitControls(this.camera, this.canvas);
      this.controls.addEventListener("change", () => this.draw());
      const stage = element("div", "r3d-stage");
      stage.append(this.canvas);
      this.panel = element("div", "r3d-panel");
      this.info = element("div", "r3d-info");
      container.append(stage, this.panel, this.info);
      new ResizeObserver(() => this.resize()).observe(stage);
      this.stage = stage;
    }

    async load() {
      const offset = new T.Vector3();
      for (const item of this.config.items) {
        const root = item.glb
          ? await parseGlb(decodeBase64(document.getElementById(item.glb).textContent))
          : new T.Group();
        const nodes = styleItem(root, item);
        if (this.config.layout === "side" && nodes.length) {
          const box = new T.Box3().setFromObject(root);
          const size = box.getSize(new T.Vector3());
          root.position.set(offset.x - box.min.x, -box.getCenter(new T.Vector3()).y, 0);
          offset.x += size.x * 1.15 + 1e-6;
        }
        this.scene.add(root);
        this.items.push({ item, root, nodes });
      }
      this.buildHelpers();
      this.buildPanel();
      this.buildInfo();
      this.frame();
      this.resize();
      this.ready = true;
    }

    bounds() {
      const box = new T.Box3();
      for (const { root } of this.items) box.expandByObject(root);
      return box;
    }

    buildHelpers() {
      const box = this.bounds();
      const size = box.isEmpty() ? 1 : box.getSize(new T.Vector3()).length();
      for (const { root, nodes } of this.items) {
        const boxHelper = new T.BoxHelper(root, 0x5b6472);
        boxHelper.visible = false;
        this.scene.add(boxHelper);
        this.helpers.box.push(boxHelper);
        for (const node of nodes) {
          if (!node.isMesh || !node.geometry.attributes.normal) continue;
          const normals = new T.VertexNormalsHelper(node, size * 0.02, 0x2b7bb9);
          normals.visible = false;
          this.scene.add(normals);
          this.helpers.normals.push(normals);
        }
      }
      this.helpers.axes = new T.AxesHelper(size * 0.35);
      // drawn over the model: at the origin they are often inside it, and would be hidden
      this.helpers.axes.material.depthTest = false;
      this.helpers.axes.renderOrder = 1;
      this.helpers.axes.visible = false;
      this.scene.add(this.helpers.axes);
    }

    buildPanel() {
      const panel = this.panel;
      const meshes = this.items.some(({ nodes }) => nodes.some((n) => n.isMesh));
      const points = this.items.some(({ nodes }) => nodes.some((n) => n.isPoints));
      if (meshes) {
        checkbox(panel, "wireframe", false, (on) => {
          for (const { nodes } of this.items) {
            for (const node of nodes) if (node.isMesh) node.material.wireframe = on;
          }
          this.draw();
        });
        if (this.helpers.normals.length) {
          checkbox(panel, "normals", false, (on) => this.toggle(this.helpers.normals, on));
        }
      }
      checkbox(panel, "bounding box", false, (on) => this.toggle(this.helpers.box, on));
      checkbox(panel, "axes", false, (on) => this.toggle([this.helpers.axes], on));
      if (points) {
        const wrap = element("label", "r3d-range", "point size ");
        const slider = element("input");
        slider.type = "range";
        slider.min = "1";
        slider.max = "12";
        slider.step = "0.5";
        const first = this.items.find(({ nodes }) => nodes.some((n) => n.isPoints));
        slider.value = String(first.item.pointSize || 2);
        slider.addEventListener("input", () => {
          for (const { nodes } of this.items) {
            for (const node of nodes) if (node.isPoints) node.material.size = +slider.value;
          }
          this.draw();
        });
        wrap.append(slider);
        panel.append(wrap);
      }
      if (this.items.length > 1) {
        for (const entry of this.items) {
          checkbox(panel, entry.item.name, true, (on) => {
            entry.root.visible = on;
            this.draw();
          });
        }
      }
      const reset = element("button", "r3d-button", "reset view");
      reset.type = "button";
      reset.addEventListener("click", () => this.frame());
      panel.append(reset);
    }

    buildInfo() {
      for (const { item } of this.items) {
        const block = element("div", "r3d-item");
        block.append(element("div", "r3d-item-name", item.name));
        for (const line of item.lines || []) block.append(element("div", "r3d-item-line", line));
        if (item.note) block.append(element("div", "r3d-note", item.note));
        this.info.append(block);
      }
    }

    toggle(objects, on) {
      for (const object of objects) object.visible = on;
      this.draw();
    }

    // Points the camera at the bounding sphere of everything, from config.view's direction.
    frame() {
      const box = this.bounds();
      const sphere = box.isEmpty() ? new T.Sphere(new T.Vector3(), 1) : box.getBoundingSphere(new T.Sphere());
      const radius = Math.max(sphere.radius, 1e-6);
      const distance = radius / Math.sin(T.MathUtils.degToRad(this.camera.fov / 2)) * 1.05;
      // PyTorch3D's azimuth and elevation: azimuth 0 looks from +z, 90 from +x
      const view = this.config.view || { azimuth: 30, elevation: 20 };
      const azimuth = T.MathUtils.degToRad(view.azimuth);
      const elevation = T.MathUtils.degToRad(view.elevation);
      const direction = new T.Vector3(
        Math.cos(elevation) * Math.sin(azimuth), Math.sin(elevation),
        Math.cos(elevation) * Math.cos(azimuth));
      this.camera.position.copy(sphere.center).addScaledVector(direction, distance);
      this.camera.near = distance / 100;
      this.camera.far = distance * 100;
      this.camera.updateProjectionMatrix();
      this.controls.target.copy(sphere.center);
      this.controls.update();
      this.draw();
    }

    resize() {
      const width = Math.max(this.stage.clientWidth, 1);
      const height = Math.max(this.stage.clientHeight, 1);
      this.renderer.setSize(width, height, false);
      this.camera.aspect = width / height;
      this.camera.updateProjectionMatrix();
      this.draw();
    }

    draw() {
      for (const helper of this.helpers.box) helper.update();
      this.renderer.render(this.scene, this.camera);
    }
  }

  function showError(container, error) {
    const box = element("div", "r3d-error", "r3d viewer: " + (error && error.message ? error.message : error));
    container.append(box);
    console.error(error);
  }

  async function mountAll() {
    window.r3dViewers = [];
    const containers = Array.from(document.querySelectorAll("div.r3d-viewer[data-config]"));
    for (const container of containers) {
      try {
        const config = JSON.parse(document.getElementById(container.dataset.config).textContent);
        const viewer = new Viewer(container, config);
        window.r3dViewers.push(viewer);
        await viewer.load();
      } catch (error) {
        showError(container, error);
      }
    }
    requestAnimationFrame(() => {
      document.body.dataset.r3dReady = "1";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
