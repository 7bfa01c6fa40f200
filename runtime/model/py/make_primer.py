"""Prints the base64 of the primer graph (y = Identity(x), float32[1]) embedded in runtime/instance/standby.ts.

A standby process opens it to pay ONNX Runtime's once-per-process set-up before it knows its model.
Run: /usr/bin/python3 runtime/model/py/make_primer.py
"""
import base64

import onnx
from onnx import TensorProto, helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "primer", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="warmgate")
model.ir_version = 8
print(base64.b64encode(model.SerializeToString()).decode())
