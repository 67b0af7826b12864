// Play a glTF animation with three.js (GLTFLoader + AnimationMixer) headless in node, and print what it poses.
// Usage: node tools/threejs_sample.mjs FILE FPS FRAMES
// Prints JSON: {"targetNames": [...], "weights": [[...] per frame], "nodes": {name: [[x, y, z, w] per frame]}}
import fs from "node:fs";
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const [file, fps, frames] = process.argv.slice(2);
const bytes = fs.readFileSync(file);
const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
new GLTFLoader().parse(data, "", (gltf) => {
  const mixer = new THREE.AnimationMixer(gltf.scene);
  mixer.clipAction(gltf.animations[0]).play();
  let mesh = null;
  gltf.scene.traverse((o) => { if (!mesh && o.morphTargetInfluences) mesh = o; });
  const names = Object.entries(mesh.morphTargetDictionary).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const rotated = ["Head", "LeftEye", "RightEye"].map((n) => gltf.scene.getObjectByName(n)).filter(Boolean);
  const out = { targetNames: names, weights: [], nodes: Object.fromEntries(rotated.map((o) => [o.name, []])) };
  for (let frame = 0; frame < Number(frames); frame++) {
    mixer.setTime(frame / Number(fps));
    out.weights.push(Array.from(mesh.morphTargetInfluences));
    for (const o of rotated) out.nodes[o.name].push(o.quaternion.toArray());
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}, (error) => { process.stderr.write(`three.js could not load ${file}: ${error}\n`); process.exit(2); });
