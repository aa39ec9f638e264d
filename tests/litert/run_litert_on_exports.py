"""LiteRT's outputs for neurite's int8 exports (see make_neurite_exports.sh).

Reads tests/litert/neurite_exports.json (per model: the .tflite file and the int8 inputs
neurite feeds it), runs each input through LiteRT's reference interpreter
(OpResolverType.BUILTIN_REF, as the converter references were made) and writes the int8
outputs back into the file under "litert".
"""
import json
import pathlib

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
import ai_edge_litert

here = pathlib.Path(__file__).parent
path = here / "neurite_exports.json"
doc = json.loads(path.read_text())
for name, case in doc["models"].items():
    interp = Interpreter(model_path=str(here / case["tflite"]),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    outputs = []
    for x in case["inputs"]:
        interp.set_tensor(inp["index"], np.array(x, dtype=np.int8).reshape(inp["shape"]))
        interp.invoke()
        outputs.append(interp.get_tensor(out["index"]).reshape(-1).astype(int).tolist())
    case["litert"] = outputs
    print(name, len(outputs), "rows")
doc["interpreter"] = f"ai_edge_litert {ai_edge_litert.__version__}, OpResolverType.BUILTIN_REF"
path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
