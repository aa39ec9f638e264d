#!/usr/bin/env python3
"""A fully int8-quantised digits MLP made by TensorFlow's converter, and what LiteRT's
reference interpreter computes with it, for the int8 kernels' bit-exactness tests.

Trains a Keras 64-32-10 MLP (ReLU) on the shipped digits (pixels / 16), converts it with
post-training full-integer quantisation (a representative dataset of 200 training rows,
int8 input and output), saves `digits_mlp_int8.tflite`, runs LiteRT's interpreter on 60 rows
with every tensor kept, and writes `digits_mlp_int8.json`: per FULLY_CONNECTED op its
weights (int8, [out][in]), bias (int32), scales and zero points of input, weights (one per
output channel, or one) and output, the fused activation, and the op's int8 input and output
on each row; plus the model's int8 inputs and outputs.

Run: python3 tests/litert/make_int8_reference.py  (needs tensorflow-cpu and ai-edge-litert)
"""
import csv
import json
import os

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "host", "data", "digits.csv")

with open(DATA) as f:
    rows = list(csv.reader(f))[1:]
x = np.array([[float(v) / 16.0 for v in r[:-1]] for r in rows], dtype=np.float32)
y = np.array([int(r[-1]) for r in rows])

tf.keras.utils.set_random_seed(0)
model = tf.keras.Sequential([
    tf.keras.Input(shape=(64,)),
    tf.keras.layers.Dense(32, activation="relu"),
    tf.keras.layers.Dense(10),
])
model.compile(optimizer=tf.keras.optimizers.Adam(0.01),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, epochs=10, batch_size=32, verbose=0)


def representative():
    for i in range(200):
        yield [x[i:i + 1]]


conv = tf.lite.TFLiteConverter.from_keras_model(model)
conv.optimizations = [tf.lite.Optimize.DEFAULT]
conv.representative_dataset = representative
conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
conv.inference_input_type = tf.int8
conv.inference_output_type = tf.int8
flat = conv.convert()
with open(os.path.join(HERE, "digits_mlp_int8.tflite"), "wb") as f:
    f.write(flat)

# the reference kernels (BUILTIN_REF), every tensor kept
interp = Interpreter(model_content=flat, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interp.allocate_tensors()
details = {t["index"]: t for t in interp.get_tensor_details()}
inp = interp.get_input_details()[0]
out = interp.get_output_details()[0]
in_scale, in_zp = inp["quantization"]

ops = [op for op in interp._get_ops_details() if op["op_name"] == "FULLY_CONNECTED"]
probe = x[::30]
q_in = np.clip(np.round(probe / in_scale) + in_zp, -128, 127).astype(np.int8)


def qparams(t):
    qp = t["quantization_parameters"]
    return [float(s) for s in qp["scales"]], [int(z) for z in qp["zero_points"]]


layers = []
for op in ops:
    i, w, b = op["inputs"][:3]
    o = op["outputs"][0]
    ws, wzp = qparams(details[w])
    isc, izp = qparams(details[i])
    osc, ozp = qparams(details[o])
    layers.append({
        "input_tensor": int(i), "output_tensor": int(o),
        "weights": interp.get_tensor(w).astype(int).tolist(),
        "bias": interp.get_tensor(b).astype(int).tolist(),
        "weight_scales": ws, "weight_zero_points": wzp,
        "input_scale": isc[0], "input_zero_point": izp[0],
        "output_scale": osc[0], "output_zero_point": ozp[0],
        "inputs": [], "outputs": [],
    })

model_out = []
for row in q_in:
    interp.set_tensor(inp["index"], row[None, :])
    interp.invoke()
    model_out.append(interp.get_tensor(out["index"])[0].astype(int).tolist())
    for layer in layers:
        layer["inputs"].append(interp.get_tensor(layer["input_tensor"]).reshape(-1).astype(int).tolist())
        layer["outputs"].append(interp.get_tensor(layer["output_tensor"]).reshape(-1).astype(int).tolist())

# the default interpreter (optimised kernels, XNNPACK) on the same rows, for the record
fast = Interpreter(model_content=flat)
fast.allocate_tensors()
fast_out = []
for row in q_in:
    fast.set_tensor(inp["index"], row[None, :])
    fast.invoke()
    fast_out.append(fast.get_tensor(out["index"])[0].astype(int).tolist())
same = sum(a == b for a, b in zip(fast_out, model_out))
print("default interpreter equals the reference on", same, "of", len(model_out), "rows")

# the fused activation is not in the tensor details: a ReLU clamps at the output zero point,
# which shows in the outputs; record what the Keras model had
for layer, act in zip(layers, ["relu", "none"]):
    layer["activation"] = act

reference = {
    "tensorflow_version": tf.__version__,
    "interpreter": "ai_edge_litert, OpResolverType.BUILTIN_REF",
    "default_interpreter_rows_equal": same,
    "input_scale": float(in_scale), "input_zero_point": int(in_zp),
    "x": q_in.astype(int).tolist(),
    "output": model_out,
    "layers": layers,
}
with open(os.path.join(HERE, "digits_mlp_int8.json"), "w") as f:
    json.dump(reference, f)
print("layers", len(layers), "weight scales per layer", [len(l["weight_scales"]) for l in layers])
