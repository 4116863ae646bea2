#!/usr/bin/env python3
"""Convert one MediaPipe BlazePose TFLite model (Apache-2.0) to ONNX and verify it numerically.

Called by scripts/convert_models.sh inside its throwaway venv (pinned tensorflow-cpu, tf2onnx,
onnxruntime, numpy); based on ../shared/tools/convert_mediapipe_pose.py.

    convert_mediapipe_pose.py MODEL.tflite OUT.onnx [--checks N] [--image JPEG ...] [--tol T]

The one trap: the detector (pose_detection.tflite) stores some weights as sparse tensors behind
DENSIFY ops, which tf2onnx's TFLite reader cannot read. We run the TFLite interpreter once with
experimental_preserve_all_tensors, take every DENSIFY output (a dense constant) and patch tf2onnx so
it skips the sparse tensors and emits those outputs as constants. Models without DENSIFY are
converted unchanged.

The ONNX graph is written to OUT.onnx.tmp, run with onnxruntime on N random inputs (uniform over
the model's input range) plus the given images, compared output by output with the TFLite
interpreter, checked for the tensor names and shapes the Rust crates expect, and only then renamed
to OUT.onnx. Any error beyond the tolerance exits non-zero and leaves no OUT.onnx.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter out of the log

import numpy as np

DENSIFY = 124  # tflite BuiltinOperator.DENSIFY

# Names and shapes the posecam crates rely on (../shared/models/README.md, "Inputs and outputs").
EXPECTED_IO = {
    "pose_detection": (
        {"input_1": [1, 224, 224, 3]},
        {"Identity": [1, 2254, 12], "Identity_1": [1, 2254, 1]},
    ),
    "pose_landmark": (
        {"input_1": [1, 256, 256, 3]},
        {"Identity": [1, 195], "Identity_1": [1, 1], "Identity_2": [1, 256, 256, 1],
         "Identity_3": [1, 64, 64, 39], "Identity_4": [1, 117]},
    ),
}


def log(msg):
    print(f"[convert] {msg}", flush=True)


def interpreter(tflite_path, preserve=False):
    import tensorflow as tf
    it = tf.lite.Interpreter(
        model_path=tflite_path,
        experimental_preserve_all_tensors=preserve,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    return it


def dense_constants(tflite_path):
    """Values of every DENSIFY op's output, keyed by tensor index ({} when the model has none)."""
    from tf2onnx.tflite.Model import Model  # tf2onnx ships its own flatbuffer reader
    with open(tflite_path, "rb") as f:
        m = Model.GetRootAsModel(f.read(), 0)
    g = m.Subgraphs(0)
    outs = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        if max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()) == DENSIFY:
            outs.append(op.Outputs(0))
    if not outs:
        return {}
    it = interpreter(tflite_path, preserve=True)
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], np.zeros(inp["shape"], np.float32))
    it.invoke()
    return {o: it.get_tensor(o) for o in outs}


def patch_tf2onnx(dense):
    """Teach tf2onnx's TFLite reader to skip sparse tensors and emit DENSIFY outputs as constants."""
    import tf2onnx.tflite_utils as tu
    with open(tu.__file__) as f:
        src = f.read()
    src = src.replace(
        "        if not buf.DataIsNone() and tensor.Buffer() > 0:",
        "        if tensor.Sparsity() is not None:\n            continue\n"
        "        if not buf.DataIsNone() and tensor.Buffer() > 0:", 1)
    src = src.replace(
        "        op_cnt[optype] += 1\n        attr = {}",
        "        op_cnt[optype] += 1\n"
        "        if optype == 'TFL_DENSIFY':\n"
        "            _o = op.Outputs(0)\n"
        "            onnx_nodes.append(helper.make_node('Const', [], outputs=[tensor_names[_o]], name=tensor_names[_o],"
        " value=numpy_helper.from_array(_DENSE[_o], name=tensor_names[_o])))\n"
        "            continue\n"
        "        attr = {}", 1)
    if "_DENSE[_o]" not in src or "tensor.Sparsity() is not None" not in src:
        sys.exit("[convert] error: tf2onnx's tflite_utils.py changed; the DENSIFY patch did not apply "
                 "(scripts/convert_models.sh pins tf2onnx 1.17.0)")
    tu.__dict__["_DENSE"] = dense
    exec(compile(src, tu.__file__, "exec"), tu.__dict__)


def image_input(path, shape, lo):
    """A real frame, letterboxed to the model's square input and scaled to [lo, 1]."""
    import tensorflow as tf
    img = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    img = tf.image.resize_with_pad(tf.cast(img, tf.float32), int(shape[1]), int(shape[2]))
    x = img.numpy()[None] / 255.0
    return (x * (1 - lo) + lo).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tflite")
    ap.add_argument("onnx")
    ap.add_argument("--checks", type=int, default=5, help="random inputs to compare (default 5)")
    ap.add_argument("--image", action="append", default=[], help="JPEG frame to compare on as well")
    ap.add_argument("--tol", type=float, default=2e-3,
                    help="max |onnx - tflite| / max(1, max |tflite|) per output (default 2e-3; observed <4e-4, a broken conversion gives >1e-1)")
    a = ap.parse_args()

    import onnxruntime as ort
    from tf2onnx import convert as tfc

    name = os.path.basename(a.onnx).removesuffix(".onnx")
    kind = "pose_detection" if name.startswith("pose_detection") else "pose_landmark"
    tmp = a.onnx + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)

    dense = dense_constants(a.tflite)
    log(f"{name}: {len(dense)} DENSIFY weight tensor(s) made dense")
    patch_tf2onnx(dense)
    tfc.from_tflite(a.tflite, opset=17, output_path=tmp)

    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    want_in, want_out = EXPECTED_IO[kind]
    got_in = {i.name: i.shape for i in sess.get_inputs()}
    got_out = {o.name: o.shape for o in sess.get_outputs()}
    if got_in != want_in or got_out != want_out:
        os.remove(tmp)
        sys.exit(f"[convert] error: {name}: graph I/O {got_in} -> {got_out}, expected {want_in} -> {want_out}")

    it = interpreter(a.tflite)
    inp = it.get_input_details()[0]
    lo = -1.0 if kind == "pose_detection" else 0.0
    inputs = [(f"random#{s}", np.random.default_rng(s).uniform(lo, 1, inp["shape"]).astype(np.float32))
              for s in range(a.checks)]
    inputs += [(os.path.basename(p), image_input(p, inp["shape"], lo)) for p in a.image]
    worst = {}
    for label, x in inputs:
        it.set_tensor(inp["index"], x)
        it.invoke()
        ref = {o["name"]: it.get_tensor(o["index"]) for o in it.get_output_details()}
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input_1": x})))
        if set(ref) != set(got):
            os.remove(tmp)
            sys.exit(f"[convert] error: {name}: outputs {sorted(got)} != TFLite's {sorted(ref)}")
        for k, v in ref.items():
            err = float(np.abs(v - got[k]).max() / max(1.0, float(np.abs(v).max())))
            if not np.isfinite(err) or err > a.tol:
                os.remove(tmp)
                sys.exit(f"[convert] error: {name}: output {k} on {label} differs from TFLite by {err:.2e} "
                         f"(relative), tolerance {a.tol:.0e}")
            worst[k] = max(worst.get(k, 0.0), err)
    summary = ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items()))
    log(f"{name}: verified on {len(inputs)} inputs ({a.checks} random, {len(a.image)} images); "
        f"max relative error {summary}")
    os.replace(tmp, a.onnx)


if __name__ == "__main__":
    main()
