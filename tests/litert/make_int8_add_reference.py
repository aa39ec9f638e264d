#!/usr/bin/env python3
"""A fully int8-quantised digits MLP with a residual ADD, made by TensorFlow's converter, and
what LiteRT's reference interpreter (BUILTIN_REF kernels) computes with it, for the int8 ADD
kernel's bit-exactness test.

Model (64 pixels / 16): h = Dense(32, ReLU)(x); r = Dense(32)(h); s = Add()([h, r]);
Dense(10)(s), trained 10 epochs, converted with a representative dataset of 200 training
rows (int8 input and output). Writes `digits_add_int8.tflite` and `digits_add_int8.json`: the
model's int8 inputs and outputs on 60 rows (the operators, their parameters and the ADD's
two inputs are read from the .tflite by the test).

Run: python3 tests/litert/make_int8_add_reference.py  (needs tensorflow-cpu and ai-edge-litert)
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
inp = tf.keras.Input(shape=(64,))
h = tf.keras.layers.Dense(32, activation="relu")(inp)
r = tf.keras.layers.Dense(32)(h)
s = tf.keras.layers.Add()([h, r])
out = tf.keras.layers.Dense(10)(s)
model = tf.keras.Model(inp, out)
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
with open(os.path.join(HERE, "digits_add_int8.tflite"), "wb") as f:
    f.write(flat)

interp = Interpreter(model_content=flat, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interp.allocate_tensors()
i_d = interp.get_input_details()[0]
o_d = interp.get_output_details()[0]
in_scale, in_zp = i_d["quantization"]
probe = x[::30]
q_in = np.clip(np.round(probe / in_scale) + in_zp, -128, 127).astype(np.int8)
outs = []
for row in q_in:
    interp.set_tensor(i_d["index"], row[None, :])
    interp.invoke()
    outs.append(interp.get_tensor(o_d["index"])[0].astype(int).tolist())
with open(os.path.join(HERE, "digits_add_int8.json"), "w") as f:
    json.dump({"tensorflow_version": tf.__version__,
               "interpreter": "ai_edge_litert, OpResolverType.BUILTIN_REF",
               "x": q_in.astype(int).tolist(), "output": outs}, f)
print("ops", [op["op_name"] for op in interp._get_ops_details()])
