#!/usr/bin/env python3
"""A fully int8-quantised digits CNN made by TensorFlow's converter, and what LiteRT's
reference interpreter (the BUILTIN_REF kernels) computes with it, for the int8 convolution,
depthwise convolution and pooling kernels' bit-exactness tests.

Model (8x8x1 input, pixels / 16): Conv2D(8, 3x3, same, ReLU) -> MaxPool2D(2) ->
DepthwiseConv2D(3x3, same, depth multiplier 2, ReLU) -> AveragePooling2D(2) -> Flatten ->
Dense(10), trained 10 epochs, converted with a representative dataset of 200 training rows
(int8 input and output). Writes `digits_cnn_int8.tflite` and `digits_cnn_int8.json`: per op
its name, the fused activation, stride and padding (from the Keras layers), the shapes,
scales and zero points of its tensors, its weights and bias, and its int8 input and output
on each of 60 rows (Flatten's int32 shape arithmetic is left out).

Run: python3 tests/litert/make_int8_cnn_reference.py  (needs tensorflow-cpu and ai-edge-litert)
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
x = np.array([[float(v) / 16.0 for v in r[:-1]] for r in rows], dtype=np.float32).reshape(-1, 8, 8, 1)
y = np.array([int(r[-1]) for r in rows])

tf.keras.utils.set_random_seed(0)
L = tf.keras.layers
model = tf.keras.Sequential([
    tf.keras.Input(shape=(8, 8, 1)),
    L.Conv2D(8, 3, padding="same", activation="relu"),
    L.MaxPooling2D(2),
    L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu"),
    L.AveragePooling2D(2),
    L.Flatten(),
    L.Dense(10),
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
with open(os.path.join(HERE, "digits_cnn_int8.tflite"), "wb") as f:
    f.write(flat)

interp = Interpreter(model_content=flat, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interp.allocate_tensors()
details = {t["index"]: t for t in interp.get_tensor_details()}
inp = interp.get_input_details()[0]
out = interp.get_output_details()[0]
in_scale, in_zp = inp["quantization"]
probe = x[::30]
q_in = np.clip(np.round(probe / in_scale) + in_zp, -128, 127).astype(np.int8)

# what the Keras layers say of each op (the interpreter's op details omit builtin options)
OPTIONS = {
    "CONV_2D": {"activation": "relu", "stride": 1, "padding": "same"},
    "MAX_POOL_2D": {"activation": "none", "stride": 2, "padding": "valid", "window": 2},
    "DEPTHWISE_CONV_2D": {"activation": "relu", "stride": 1, "padding": "same"},
    "AVERAGE_POOL_2D": {"activation": "none", "stride": 2, "padding": "valid", "window": 2},
    "RESHAPE": {},
    "FULLY_CONNECTED": {"activation": "none"},
}


def tensor_info(i):
    t = details[i]
    qp = t["quantization_parameters"]
    return {"index": int(i), "shape": [int(d) for d in t["shape"]],
            "scales": [float(s) for s in qp["scales"]],
            "zero_points": [int(z) for z in qp["zero_points"]]}


ops = []
for op in interp._get_ops_details():
    name = op["op_name"]
    if name not in OPTIONS:
        continue  # Flatten's batch-size arithmetic (SHAPE, STRIDED_SLICE, PACK: int32)
    entry = {"op": name, **OPTIONS[name],
             "input": tensor_info(op["inputs"][0]), "output": tensor_info(op["outputs"][0]),
             "inputs": [], "outputs": []}
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        w, b = op["inputs"][1], op["inputs"][2]
        entry["weights"] = {**tensor_info(w), "values": interp.get_tensor(w).reshape(-1).astype(int).tolist()}
        entry["bias"] = interp.get_tensor(b).astype(int).tolist()
    ops.append(entry)

model_out = []
for row in q_in:
    interp.set_tensor(inp["index"], row[None])
    interp.invoke()
    model_out.append(interp.get_tensor(out["index"])[0].astype(int).tolist())
    for e in ops:
        e["inputs"].append(interp.get_tensor(e["input"]["index"]).reshape(-1).astype(int).tolist())
        e["outputs"].append(interp.get_tensor(e["output"]["index"]).reshape(-1).astype(int).tolist())

reference = {
    "tensorflow_version": tf.__version__,
    "interpreter": "ai_edge_litert, OpResolverType.BUILTIN_REF",
    "input_scale": float(in_scale), "input_zero_point": int(in_zp),
    "x": q_in.reshape(len(q_in), -1).astype(int).tolist(),
    "output": model_out,
    "ops": ops,
}
with open(os.path.join(HERE, "digits_cnn_int8.json"), "w") as f:
    json.dump(reference, f)
print("ops", [(e["op"], e["input"]["shape"], e["output"]["shape"], len(e.get("weights", {}).get("scales", []))) for e in ops])
