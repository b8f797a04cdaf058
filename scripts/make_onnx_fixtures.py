#!/usr/bin/env python3
"""Writes the ONNX fixtures the Swift tests read (Tests/Fixtures/onnx/).

1. torchvision/: torchvision classifiers exported with the TorchScript exporter
   (torch.onnx.export(..., dynamo=False, opset_version=17)) in TrainingMode.EVAL and
   TrainingMode.TRAINING, with a symbolic batch axis. The weights are then stripped: every
   initializer larger than a few elements keeps its name, dims and data_type, loses its
   data, and is marked data_location = EXTERNAL with a pointer into a weights file that
   is never written, so the committed files are graph-only and also prove that the
   importer never opens external data. Small integer initializers (shape tensors) keep
   their values. Values between nodes get short names (node and parameter names stay).
   torchvision.json records, measured here once, what the Swift tests compare with:
   - parameters: sum(p.numel()) of the module (torchvision's own count),
   - eval_parameters: the same after torch.fx.experimental.optimization.fuse, which folds
     each batchnorm that follows a convolution into it, as the exporter does in eval mode,
   - forward_flops: torch.utils.flop_counter.FlopCounterMode at batch 1 in eval mode
     (matmul, convolution and attention kernels, 2 FLOPs per multiply-accumulate), with
     nn.MultiheadAttention's inference fast path off and scaled_dot_product_attention on
     its math backend: FlopCounterMode has no formula for the fused CPU kernels
     (_native_multi_head_attention, _scaled_dot_product_flash_attention_for_cpu) and would
     leave the attention matmuls out,
   - the exported file's node count and op types.
2. hand/: small graphs built with onnx.helper, one per supported op (odd shapes,
   attributes and opsets), plus malformed ones (unknown op, unsupported opset, cycle,
   missing input shape, absurd dimension). Their weights are real and inline, so the
   importer's skipping of inline data is exercised too.

    /work/venv-torch/bin/python scripts/make_onnx_fixtures.py [--only-hand | --only-exports]
    /work/venv-torch/bin/python scripts/make_onnx_fixtures.py --benchmark /tmp/llama7b.onnx
"""
import collections
import io
import json
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "onnx")
HAND = os.path.join(ROOT, "hand")
TORCHVISION = os.path.join(ROOT, "torchvision")

# Initializers with more elements than this lose their data (integer ones keep it up to
# KEEP_INTEGER_ELEMENTS: Reshape shapes, Slice starts and the like).
KEEP_FLOAT_ELEMENTS = 1
KEEP_INTEGER_ELEMENTS = 64

INTEGER_TYPES = {TensorProto.INT64, TensorProto.INT32, TensorProto.INT16, TensorProto.INT8,
                 TensorProto.UINT8, TensorProto.BOOL}


def element_count(tensor):
    count = 1
    for d in tensor.dims:
        count *= d
    return count


def strip_weights(model, weights_file):
    """Clears the data of large initializers and marks them external (a file never written)."""
    offset = 0
    for tensor in model.graph.initializer:
        n = element_count(tensor)
        keep = KEEP_INTEGER_ELEMENTS if tensor.data_type in INTEGER_TYPES else KEEP_FLOAT_ELEMENTS
        if n <= keep:
            continue
        length = len(tensor.raw_data) or n * 4
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
            tensor.ClearField(field)
        tensor.data_location = TensorProto.EXTERNAL
        del tensor.external_data[:]
        for key, value in (("location", weights_file), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key = key
            entry.value = value
        offset += length
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR and element_count(attribute.t) > 4096:
                raise SystemExit(f"{node.name}: a Constant of {element_count(attribute.t)} elements; strip it too")


def shorten_value_names(model):
    """Renames the values between nodes (`/encoder/layers/encoder_layer_0/Add_output_0`)
    to short ones: graph inputs, outputs, initializers and node names (the module paths
    layers are named after) keep theirs, the graph is the same, the file is half the size."""
    keep = {v.name for v in model.graph.input} | {v.name for v in model.graph.output}
    keep |= {t.name for t in model.graph.initializer}
    renamed = {}
    for node in model.graph.node:
        for i, output in enumerate(node.output):
            if output and output not in keep:
                renamed[output] = renamed.get(output) or f"v{len(renamed)}"
                node.output[i] = renamed[output]
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
    for info in model.graph.value_info:
        if info.name in renamed:
            info.name = renamed[info.name]


def randomise(module, torch):
    """Distinct values in every parameter and buffer: with torchvision's default initialisation
    many folded tensors are equal (e.g. every folded batchnorm bias is zero) and the exporter
    deduplicates equal initializers, which a trained model never shows."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if not tensor.dtype.is_floating_point:
                continue
            values = torch.rand(tensor.shape, generator=generator) * 0.5 + 0.5
            if not name.endswith("running_var"):
                values = values - 0.75
            tensor.copy_(values)


TORCHVISION_MODELS = [
    # The zoo's torchvision models.
    ("resnet18", {}, 224),
    ("resnet50", {}, 224),
    ("mobilenet_v2", {}, 224),
    ("efficientnet_b0", {}, 224),
    ("vit_b_16", {}, 224),
    ("alexnet", {}, 224),
    ("vgg16", {}, 224),
    # More classifiers: grouped, densely connected, Inception-style, ViT-style and others.
    ("resnext50_32x4d", {}, 224),
    ("densenet121", {}, 224),
    ("googlenet", {"aux_logits": False, "init_weights": True}, 224),
    ("vit_b_32", {}, 224),
    ("shufflenet_v2_x1_0", {}, 224),
    ("squeezenet1_1", {}, 224),
    ("regnet_y_400mf", {}, 224),
    ("convnext_tiny", {}, 224),
    ("mobilenet_v3_small", {}, 224),
]


def export_torchvision():
    import torch
    import torchvision
    from torch.fx.experimental.optimization import fuse
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    warnings.filterwarnings("ignore")
    torch.backends.mha.set_fastpath_enabled(False)
    os.makedirs(TORCHVISION, exist_ok=True)
    record = {}
    for name, kwargs, size in TORCHVISION_MODELS:
        module = getattr(torchvision.models, name)(weights=None, **kwargs)
        randomise(module, torch)
        module.eval()
        parameters = sum(p.numel() for p in module.parameters())
        eval_parameters = sum(p.numel() for p in fuse(module).parameters())
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            module(torch.randn(1, 3, size, size))
        entry = {"parameters": parameters, "eval_parameters": eval_parameters,
                 "forward_flops": counter.get_total_flops(), "image": size}
        for mode, training in (("eval", torch.onnx.TrainingMode.EVAL), ("train", torch.onnx.TrainingMode.TRAINING)):
            module.train(mode == "train")
            buffer = io.BytesIO()
            # Batch 2 when tracing: training-mode batchnorm needs more than one value per channel.
            torch.onnx.export(module, (torch.randn(2, 3, size, size),), buffer, dynamo=False, opset_version=17,
                              training=training, input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              do_constant_folding=(mode == "eval"))
            model = onnx.load_from_string(buffer.getvalue())
            stem = f"{name}_{mode}"
            strip_weights(model, stem + ".weights")
            shorten_value_names(model)
            data = model.SerializeToString()
            with open(os.path.join(TORCHVISION, stem + ".onnx"), "wb") as f:
                f.write(data)
            entry[mode] = {"bytes": len(data), "nodes": len(model.graph.node),
                           "ops": dict(sorted(collections.Counter(n.op_type for n in model.graph.node).items()))}
            print(f"{stem}: {len(data) / 1024:.0f} KiB, {len(model.graph.node)} nodes", flush=True)
        record[name] = entry
    with open(os.path.join(ROOT, "torchvision.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------------------------------
# More exports: a transformer block as an exporter decomposes it, and Swin

EXPORTS = os.path.join(ROOT, "exports")


def export_more():
    """exports/: models whose exports decompose operators the catalog has as one.
    - tiny_llama.onnx: transformers' LlamaForCausalLM (2 layers, hidden 48, 4 heads of 12,
      2 key-value heads, intermediate 80, vocab 96, eager attention), batch and seq
      symbolic. The exporter writes LlamaRMSNorm as Pow, ReduceMean, Add, Sqrt, Div, Mul
      and the rotary embedding as Slice, Neg, Concat, Mul and Add with cos/sin tables
      computed from constants (Range, Cos, Sin); grouped-query attention repeats K and V
      by Expand and Reshape.
    - swin_t_eval.onnx, swin_t_train.onnx: torchvision's Swin-T (window attention with
      shifted windows: Pad, Roll as Slice and Concat, masks from ScatterND and Where on
      constants). The train export (no constant folding) keeps each block's
      relative_position_bias_table[relative_position_index] as Gather, Reshape, Transpose
      and Unsqueeze, the catalog's relative_position_bias; the eval export's constant
      folding turns it into one [1, heads, 49, 49] initializer, which reads as a learned
      tensor of that size.
    exports.json records the parameter counts (sum(p.numel())) and FlopCounterMode's
    forward FLOPs at the recorded sizes."""
    import torch
    import torchvision
    import transformers
    from torch.utils.flop_counter import FlopCounterMode

    warnings.filterwarnings("ignore")
    os.makedirs(EXPORTS, exist_ok=True)
    record = {}

    def write(model, stem):
        strip_weights(model, stem + ".weights")
        shorten_value_names(model)
        data = model.SerializeToString()
        with open(os.path.join(EXPORTS, stem + ".onnx"), "wb") as f:
            f.write(data)
        print(f"{stem}: {len(data) / 1024:.0f} KiB, {len(model.graph.node)} nodes", flush=True)
        return {"bytes": len(data), "nodes": len(model.graph.node),
                "ops": dict(sorted(collections.Counter(n.op_type for n in model.graph.node).items()))}

    config = transformers.LlamaConfig(vocab_size=96, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                      tie_word_embeddings=False, attn_implementation="eager")
    llama = transformers.LlamaForCausalLM(config)
    randomise(llama, torch)
    llama.eval()

    class Logits(torch.nn.Module):
        """input_ids -> logits, with the mask and positions the model would make itself."""
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
            return self.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), position_ids=positions,
                              use_cache=False).logits

    wrapped = Logits(llama)
    seq = 16
    with FlopCounterMode(display=False) as counter:
        wrapped(torch.randint(0, 96, (1, seq)))
    buffer = io.BytesIO()
    torch.onnx.export(wrapped, (torch.randint(0, 96, (2, 5)),), buffer, dynamo=False, opset_version=17,
                      input_names=["input_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
    entry = write(onnx.load_from_string(buffer.getvalue()), "tiny_llama")
    entry.update(parameters=sum(p.numel() for p in llama.parameters()), forward_flops=counter.get_total_flops(), seq=seq)
    record["tiny_llama"] = entry

    swin = torchvision.models.swin_t(weights=None)
    randomise(swin, torch)
    swin.eval()
    with FlopCounterMode(display=False) as counter:
        swin(torch.randn(1, 3, 224, 224))
    tables = {name: p.numel() for name, p in swin.named_parameters() if name.endswith("relative_position_bias_table")}
    for mode, training in (("eval", torch.onnx.TrainingMode.EVAL), ("train", torch.onnx.TrainingMode.TRAINING)):
        swin.train(mode == "train")
        buffer = io.BytesIO()
        torch.onnx.export(swin, (torch.randn(2, 3, 224, 224),), buffer, dynamo=False, opset_version=17,
                          training=training, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=(mode == "eval"))
        entry = write(onnx.load_from_string(buffer.getvalue()), "swin_t_" + mode)
        entry.update(parameters=sum(p.numel() for p in swin.parameters()), forward_flops=counter.get_total_flops(), image=224,
                     relative_position_bias_tables=sum(tables.values()), window_area=49,
                     heads=[swin.features[stage][block].attn.num_heads for stage in (1, 3, 5, 7)
                            for block in range(len(swin.features[stage]))])
        record["swin_t_" + mode] = entry
    with open(os.path.join(ROOT, "exports.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------------------------------
# Hand-made graphs

rng = np.random.default_rng(7)


def weight(name, shape, dtype=np.float32):
    return helper.make_tensor(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape,
                              rng.uniform(-1, 1, shape).astype(dtype).tobytes(), raw=True)


def ints(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def scalar_int(name, value):
    return helper.make_tensor(name, TensorProto.INT64, [], [value])


def constant(output, tensor):
    return helper.make_node("Constant", [], [output], value=tensor)


def float_constant(output, value, shape=()):
    return constant(output, helper.make_tensor(output + "_value", TensorProto.FLOAT, list(shape),
                                               np.full(shape, value, np.float32).flatten().tolist()))


def tensor_info(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def save(name, nodes, inputs, outputs, initializers=(), opset=17, check=True, ir_version=None, extra_opsets=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)] + list(extra_opsets),
                              producer_name="make_onnx_fixtures")
    model.ir_version = ir_version or min(onnx.IR_VERSION, 10)
    if check:
        # ONNX's own shape inference (strict) types every value; its shapes are stored in
        # the file (value_info and the outputs), and the importer checks its own against them.
        model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
        inferred = {v.name: v for v in model.graph.value_info}
        for output in model.graph.output:
            if not output.type.tensor_type.HasField("shape") and output.name in inferred:
                output.type.CopyFrom(inferred[output.name].type)
        onnx.checker.check_model(model, full_check=True)
    with open(os.path.join(HAND, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


def hand_graphs():
    os.makedirs(HAND, exist_ok=True)
    Y = lambda name="y", shape=None: tensor_info(name, shape)

    # --- Convolutions
    save("conv_group_dilation_stride", [
        helper.make_node("Conv", ["x", "w", "b"], ["y"], name="/stem/conv/Conv", group=3, strides=[2, 1],
                         dilations=[1, 2], pads=[1, 2, 1, 2], kernel_shape=[3, 5]),
    ], [tensor_info("x", [2, 6, 17, 13])], [Y()], [weight("w", [9, 2, 3, 5]), weight("b", [9])], opset=11)
    # SAME_UPPER, stride 2, kernel 4 on 15: output 8, total padding 3 (1 before, 2 after).
    save("conv_auto_pad_same_upper", [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv", auto_pad="SAME_UPPER", strides=[2, 2]),
    ], [tensor_info("x", [1, 4, 15, 15])], [Y()], [weight("w", [5, 4, 4, 4])], opset=13)
    # pads (1, 1) before, (0, 0) after with stride 2 on 8: the same output as (1, 1) both sides.
    save("conv_pads_asymmetric_same_output", [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv", strides=[2, 2], pads=[1, 1, 0, 0]),
    ], [tensor_info("x", [1, 3, 8, 8])], [Y()], [weight("w", [4, 3, 3, 3])], opset=17)
    # pads 2 before, 0 after with stride 1: no symmetric padding gives this output.
    save("conv_pads_asymmetric_unrepresentable", [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[2, 0, 0, 0]),
    ], [tensor_info("x", [1, 3, 8, 8])], [Y()], [weight("w", [4, 3, 3, 3])], opset=17)
    save("conv1d", [
        helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", strides=[3], pads=[2, 2], dilations=[2]),
    ], [tensor_info("x", [2, 4, 29])], [Y()], [weight("w", [6, 4, 5]), weight("b", [6])], opset=13)
    save("conv3d", [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv3d"),
    ], [tensor_info("x", [1, 2, 5, 5, 5])], [Y()], [weight("w", [3, 2, 3, 3, 3])], opset=13)
    save("conv_transpose", [
        helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up", strides=[2, 3], pads=[1, 0, 1, 0],
                         output_padding=[1, 2], group=2),
    ], [tensor_info("x", [2, 4, 7, 5])], [Y()], [weight("w", [4, 3, 3, 4]), weight("b", [6])], opset=14)

    # --- Dense layers
    save("gemm_trans_alpha_beta", [
        helper.make_node("Gemm", ["a", "w", "c"], ["y"], name="fc", transA=1, transB=0, alpha=2.0, beta=0.5),
    ], [tensor_info("a", [5, 7])], [Y()], [weight("w", [5, 3]), weight("c", [3])], opset=11)
    save("gemm_linear", [
        helper.make_node("Gemm", ["a", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1),
    ], [tensor_info("a", [4, 10])], [Y()], [weight("fc.weight", [6, 10]), weight("fc.bias", [6])], opset=13)
    save("matmul_weight_bias", [
        helper.make_node("Transpose", ["proj.weight"], ["wt"], name="/proj/Transpose", perm=[1, 0]),
        helper.make_node("MatMul", ["x", "wt"], ["m"], name="/proj/MatMul"),
        helper.make_node("Add", ["proj.bias", "m"], ["y"], name="/proj/Add"),
    ], [tensor_info("x", [2, 3, 5])], [Y()], [weight("proj.weight", [4, 5]), weight("proj.bias", [4])], opset=13)
    save("matmul_activations", [
        helper.make_node("MatMul", ["a", "b"], ["y"], name="mm"),
    ], [tensor_info("a", [2, 1, 3, 5]), tensor_info("b", [4, 5, 6])], [Y()], opset=13)
    # One initializer used by two MatMuls: counted once.
    save("tied_weights", [
        helper.make_node("MatMul", ["x", "shared"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "shared"], ["y"], name="second"),
    ], [tensor_info("x", [3, 8])], [Y()], [weight("shared", [8, 8])], opset=13)
    # GPT-style tied embedding and head: Gather(table, ids) and MatMul(h, Transpose(table)).
    save("embedding_tied_head", [
        helper.make_node("Gather", ["wte.weight", "ids"], ["h"], name="/wte/Gather"),
        helper.make_node("Transpose", ["wte.weight"], ["table_t"], name="/lm_head/Transpose", perm=[1, 0]),
        helper.make_node("MatMul", ["h", "table_t"], ["y"], name="/lm_head/MatMul"),
    ], [tensor_info("ids", ["batch", "seq"], TensorProto.INT64)], [Y()], [weight("wte.weight", [50, 12])], opset=13)

    # --- Element-wise arithmetic with broadcasting
    save("elementwise_broadcast", [
        helper.make_node("Add", ["x", "bias"], ["a"], name="add_param"),
        float_constant("two", 2.0),
        helper.make_node("Mul", ["a", "two"], ["m"], name="mul_number"),
        helper.make_node("Sub", ["m", "z"], ["s"], name="sub_tensors"),
        float_constant("four", 4.0, [1]),
        helper.make_node("Div", ["s", "four"], ["d"], name="div_number"),
        helper.make_node("Mul", ["d", "z"], ["y"], name="mul_broadcast"),
    ], [tensor_info("x", [2, 3, 4, 5]), tensor_info("z", [4, 1])], [Y()], [weight("bias", [3, 1, 1])], opset=14)
    # c - x, 0 - x, c / x and 1 / x: the constant first (torch's rsub and __rtruediv__).
    save("constant_first_operand", [
        float_constant("one", 1.0), float_constant("zero", 0.0), float_constant("three", 3.0, [1, 1]),
        helper.make_node("Sub", ["one", "x"], ["a"], name="rsub"),
        helper.make_node("Sub", ["zero", "a"], ["b"], name="negate"),
        helper.make_node("Div", ["three", "b"], ["c"], name="rdiv"),
        helper.make_node("Div", ["one", "c"], ["y"], name="inverse"),
    ], [tensor_info("x", [2, 3, 5])], [Y()], opset=14)

    # --- Normalisation
    save("batchnorm_training", [
        helper.make_node("BatchNormalization", ["x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["y", "mean_out", "var_out"], name="/bn/BatchNormalization", epsilon=1e-3, momentum=0.8,
                         training_mode=1),
    ], [tensor_info("x", [3, 5, 7, 6])], [Y()],
        [weight("bn.weight", [5]), weight("bn.bias", [5]), weight("bn.running_mean", [5]), weight("bn.running_var", [5])],
        opset=15)
    save("batchnorm_eval_opset11", [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn", epsilon=1e-5),
    ], [tensor_info("x", [2, 4, 3, 3])], [Y()],
        [weight("s", [4]), weight("b", [4]), weight("m", [4]), weight("v", [4])], opset=11)
    save("instancenorm", [
        helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="inorm", epsilon=1e-4),
    ], [tensor_info("x", [2, 3, 5, 7])], [Y()], [weight("s", [3]), weight("b", [3])], opset=11)
    save("layernorm_axis", [
        helper.make_node("LayerNormalization", ["x", "ln.weight", "ln.bias"], ["y"], name="/ln/LayerNormalization",
                         axis=-2, epsilon=1e-6),
    ], [tensor_info("x", [2, 3, 4, 5])], [Y()], [weight("ln.weight", [4, 5]), weight("ln.bias", [4, 5])], opset=17)
    save("layernorm_no_bias", [
        helper.make_node("LayerNormalization", ["x", "ln.weight"], ["y"], name="ln"),
    ], [tensor_info("x", [3, 7])], [Y()], [weight("ln.weight", [7])], opset=17)
    save("groupnorm_opset21", [
        helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], name="gn", num_groups=3, epsilon=1e-5),
    ], [tensor_info("x", [2, 6, 4, 5])], [Y("y", [2, 6, 4, 5])], [weight("s", [6]), weight("b", [6])], opset=21)
    save("groupnorm_opset18_per_group", [
        helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], name="gn", num_groups=3, epsilon=1e-4),
    ], [tensor_info("x", [2, 6, 4, 5])], [Y()], [weight("s", [3]), weight("b", [3])], opset=18, check=False)

    # --- Activations
    save("activations", [
        helper.make_node("Relu", ["x"], ["a1"], name="relu"),
        helper.make_node("LeakyRelu", ["a1"], ["a2"], name="leaky", alpha=0.2),
        helper.make_node("Sigmoid", ["a2"], ["a3"], name="sigmoid"),
        helper.make_node("Tanh", ["a3"], ["a4"], name="tanh"),
        float_constant("lo", 0.0), float_constant("hi", 6.0),
        helper.make_node("Clip", ["a4", "lo", "hi"], ["a5"], name="relu6"),
        helper.make_node("HardSwish", ["a5"], ["a6"], name="hardswish"),
        helper.make_node("HardSigmoid", ["a6"], ["a7"], name="hardsigmoid", alpha=1.0 / 6, beta=0.5),
        helper.make_node("Neg", ["a7"], ["y"], name="neg"),
    ], [tensor_info("x", [2, 3, 5])], [Y()], opset=14)
    save("clip_other_bounds", [
        float_constant("lo", -1.0), float_constant("hi", 1.0), float_constant("cap", 2.5),
        helper.make_node("Clip", ["x", "lo", "hi"], ["a"], name="hardtanh"),
        helper.make_node("Clip", ["a", "lo"], ["b"], name="floor_only"),
        helper.make_node("Clip", ["b", "", "cap"], ["y"], name="cap_only"),
    ], [tensor_info("x", [4, 9])], [Y()], opset=13)
    save("gelu_opset20", [
        helper.make_node("Gelu", ["x"], ["g"], name="gelu"),
        helper.make_node("Gelu", ["g"], ["y"], name="gelu_tanh", approximate="tanh"),
    ], [tensor_info("x", [3, 11])], [Y()], opset=20)
    # torch's exact GELU at opset < 20: x * 0.5 * (1 + erf(x / sqrt(2))).
    save("gelu_erf_pattern", [
        float_constant("sqrt2", 1.4142135381698608),
        helper.make_node("Div", ["x", "sqrt2"], ["d"], name="/mlp/act/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/mlp/act/Erf"),
        float_constant("one", 1.0),
        helper.make_node("Add", ["e", "one"], ["a"], name="/mlp/act/Add"),
        helper.make_node("Mul", ["x", "a"], ["m"], name="/mlp/act/Mul"),
        float_constant("half", 0.5),
        helper.make_node("Mul", ["m", "half"], ["y"], name="/mlp/act/Mul_1"),
    ], [tensor_info("x", [2, 7, 9])], [Y()], opset=13)
    save("erf_alone", [
        helper.make_node("Erf", ["x"], ["y"], name="erf"),
    ], [tensor_info("x", [2, 7])], [Y()], opset=13)
    # The math functions of one tensor, and Pow by numbers, a stored tensor and an activation.
    save("math_unary", [
        helper.make_node("Abs", ["x"], ["a"], name="abs"),
        helper.make_node("Sqrt", ["a"], ["b"], name="sqrt"),
        helper.make_node("Exp", ["b"], ["c"], name="exp"),
        helper.make_node("Log", ["c"], ["d"], name="log"),
        helper.make_node("Reciprocal", ["d"], ["e"], name="reciprocal"),
        helper.make_node("Neg", ["e"], ["y"], name="neg"),
    ], [tensor_info("x", [3, 4, 7])], [Y()], opset=13)
    # SiLU as exported at opset < 14 (x * sigmoid(x)).
    save("silu_pattern", [
        helper.make_node("Sigmoid", ["x"], ["s"], name="/act/Sigmoid"),
        helper.make_node("Mul", ["x", "s"], ["y"], name="/act/Mul"),
    ], [tensor_info("x", [2, 8, 3, 3])], [Y()], opset=13)

    # --- Softmax
    save("softmax_opset11_coerced", [
        helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=1),
    ], [tensor_info("x", [2, 3, 4])], [Y()], opset=11)
    save("softmax_opset13", [
        helper.make_node("Softmax", ["x"], ["s"], name="softmax", axis=1),
        helper.make_node("LogSoftmax", ["s"], ["y"], name="log_softmax"),
    ], [tensor_info("x", [2, 3, 4])], [Y()], opset=13)

    # --- Pooling
    save("maxpool_ceil", [
        helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=1),
    ], [tensor_info("x", [2, 3, 10, 8])], [Y()], opset=11)
    save("averagepool_count_include_pad", [
        helper.make_node("AveragePool", ["x"], ["a"], name="avg_incl", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], count_include_pad=1),
        helper.make_node("AveragePool", ["a"], ["y"], name="avg_excl", kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
    ], [tensor_info("x", [1, 4, 11, 11])], [Y()], opset=11)
    save("globalaveragepool", [
        helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap"),
    ], [tensor_info("x", [3, 5, 6, 7])], [Y()], opset=13)

    # --- Shape and data movement
    save("shape_ops", [
        helper.make_node("Flatten", ["x"], ["f"], name="flatten", axis=2),                    # [6, 20]
        helper.make_node("Reshape", ["f", "shape"], ["r"], name="reshape"),                    # [0, 4, -1] -> [6, 4, 5]
        helper.make_node("Transpose", ["r"], ["t"], name="transpose", perm=[2, 0, 1]),        # [5, 6, 4]
        helper.make_node("Unsqueeze", ["t", "axes1"], ["u"], name="unsqueeze"),                # [5, 1, 6, 4]
        helper.make_node("Squeeze", ["u", "axes1"], ["s"], name="squeeze"),                    # [5, 6, 4]
        helper.make_node("Concat", ["s", "t"], ["c"], name="concat", axis=-1),                 # [5, 6, 8]
        helper.make_node("Split", ["c", "split"], ["p1", "p2"], name="split", axis=2),         # [5, 6, 3], [5, 6, 5]
        helper.make_node("Slice", ["p2", "starts", "ends", "axes", "steps"], ["sl"], name="slice"),  # [5, 3, 3]
        helper.make_node("Gather", ["sl", "index"], ["g"], name="select", axis=1),            # [5, 3]
        helper.make_node("Expand", ["g", "expand"], ["e"], name="expand"),                    # [4, 5, 3]
        helper.make_node("Identity", ["e"], ["y"], name="identity"),
    ], [tensor_info("x", [2, 3, 4, 5])], [Y(), tensor_info("p1", None)],
        [ints("shape", [0, 4, -1]), ints("axes1", [1]), ints("split", [3, 5]),
         ints("starts", [1, 0]), ints("ends", [100, 3]), ints("axes", [1, 2]), ints("steps", [2, 1]),
         scalar_int("index", 1), ints("expand", [4, 1, 1])], opset=13)
    save("slice_negative_step", [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="flip"),
    ], [tensor_info("x", [2, 5])], [Y()], [ints("starts", [-1]), ints("ends", [-100]), ints("axes", [1]), ints("steps", [-1])],
        opset=13)
    save("slice_and_gather", [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"], name="slice"),   # [2, 4, 3]
        helper.make_node("Gather", ["s", "rows"], ["g"], name="gather_range", axis=1),            # [2, 2, 3]
        helper.make_node("Gather", ["g", "index"], ["y"], name="select", axis=-1),               # [2, 2]
    ], [tensor_info("x", [2, 9, 7])], [Y()],
        [ints("starts", [1, 2]), ints("ends", [100, -2]), ints("axes", [1, 2]), ints("steps", [2, 1]),
         ints("rows", [1, 2]), scalar_int("index", -1)], opset=13)
    save("split_opset11_attribute", [
        helper.make_node("Split", ["x"], ["a", "b", "c"], name="split", axis=1, split=[1, 2, 4]),
    ], [tensor_info("x", [2, 7])], [tensor_info("a", None), tensor_info("b", None), tensor_info("c", None)], opset=11)
    save("split_opset18_num_outputs", [
        helper.make_node("Split", ["x"], ["a", "b", "c"], name="split", axis=-1, num_outputs=3),
    ], [tensor_info("x", [2, 8])], [tensor_info("a", None), tensor_info("b", None), tensor_info("c", None)], opset=18)
    save("squeeze_unsqueeze_opset11", [
        helper.make_node("Unsqueeze", ["x"], ["u"], name="unsqueeze", axes=[0, 3]),   # [1, 3, 4, 1]
        helper.make_node("Squeeze", ["u"], ["y"], name="squeeze", axes=[-1]),          # [1, 3, 4]
    ], [tensor_info("x", [3, 4])], [Y()], opset=11)
    save("dropout_training", [
        float_constant("ratio", 0.3), constant("training", helper.make_tensor("t", TensorProto.BOOL, [], [True])),
        helper.make_node("Dropout", ["x", "ratio", "training"], ["y", "mask"], name="/drop/Dropout"),
    ], [tensor_info("x", [4, 10])], [Y()], opset=13)
    save("dropout_inference", [
        helper.make_node("Dropout", ["x"], ["d"], name="drop", ratio=0.5),
        helper.make_node("Relu", ["d"], ["y"], name="relu"),
    ], [tensor_info("x", [4, 10])], [Y()], opset=11)
    save("reductions", [
        helper.make_node("ReduceMean", ["x"], ["m"], name="mean", axes=[2, 3], keepdims=1),       # [2, 3, 1, 1]
        helper.make_node("ReduceSum", ["m", "axes"], ["y"], name="sum", keepdims=0),             # [2, 3]
    ], [tensor_info("x", [2, 3, 4, 5])], [Y()], [ints("axes", [-1, 2])], opset=13)
    save("reducemean_opset18", [
        helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="mean", keepdims=0),
    ], [tensor_info("x", [2, 3, 4])], [Y()], [ints("axes", [1])], opset=18)

    # --- Shape arithmetic as exporters emit it: folded, never counted.
    save("shape_arithmetic", [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        constant("zero", helper.make_tensor("zero_value", TensorProto.INT64, [], [0])),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather_batch", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze_batch"),
        constant("minus_one", helper.make_tensor("minus_one_value", TensorProto.INT64, [1], [-1])),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], name="concat_shape", axis=0),   # [batch, -1]
        helper.make_node("Cast", ["target"], ["target_f"], name="cast_float", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["target_f"], ["target_i"], name="cast_back", to=TensorProto.INT64),
        helper.make_node("Reshape", ["x", "target_i"], ["flat"], name="/flatten/Reshape"),       # [batch, 60]
        helper.make_node("ConstantOfShape", ["one_elem"], ["ones"], name="ones",
                         value=helper.make_tensor("v", TensorProto.INT64, [1], [1])),          # [1]
        helper.make_node("Range", ["zero_s", "three", "one_s"], ["range"], name="range"),     # [0, 1, 2]
        helper.make_node("Equal", ["range", "two_s"], ["is_two"], name="equal"),              # [F, F, T]
        helper.make_node("Where", ["is_two", "range", "ten"], ["w"], name="where"),           # [10, 10, 2]
        helper.make_node("ReduceProd", ["w"], ["p"], name="prod", keepdims=1),                # [200]
        helper.make_node("Div", ["p", "forty"], ["q"], name="div_int"),                       # [5]
        helper.make_node("Mul", ["q", "ones"], ["q1"], name="mul_shape"),                     # [5]
        helper.make_node("Concat", ["n1", "q1", "twelve"], ["target2"], name="concat2", axis=0),  # [batch, 5, 12]
        helper.make_node("Reshape", ["flat", "target2"], ["y"], name="/view/Reshape"),
    ], [tensor_info("x", ["batch", 3, 4, 5])], [Y("y", ["batch", 5, 12])],
        [ints("axes0", [0]), ints("one_elem", [1]), scalar_int("zero_s", 0), scalar_int("three", 3),
         scalar_int("one_s", 1), scalar_int("two_s", 2), scalar_int("ten", 10), scalar_int("forty", 40),
         ints("twelve", [12])], opset=13)
    # Symbolic dimensions: the batch axis and a named one.
    save("symbolic_dims", [
        helper.make_node("MatMul", ["x", "w"], ["y"], name="proj"),
    ], [tensor_info("x", ["N", "sequence", 8])], [Y()], [weight("w", [8, 3])], opset=13)
    # The train-mode export of torchvision's stochastic depth (StochasticDepth(p, "row")).
    save("stochastic_depth", [
        helper.make_node("Shape", ["x"], ["shape"], name="/sd/Shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="/sd/Gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="/sd/Unsqueeze"),
        helper.make_node("Concat", ["n1", "ones3"], ["noise_shape"], name="/sd/Concat", axis=0),
        helper.make_node("ConstantOfShape", ["noise_shape"], ["empty"], name="/sd/ConstantOfShape",
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
        helper.make_node("RandomUniformLike", ["empty"], ["uniform"], name="/sd/RandomUniformLike"),
        float_constant("survival", 0.8),
        helper.make_node("Less", ["uniform", "survival"], ["keep"], name="/sd/Less"),
        helper.make_node("Cast", ["keep"], ["keep_f"], name="/sd/Cast", to=TensorProto.FLOAT),
        helper.make_node("Div", ["keep_f", "survival"], ["noise"], name="/sd/Div"),
        helper.make_node("Mul", ["x", "noise"], ["y"], name="/sd/Mul"),
    ], [tensor_info("x", ["batch", 4, 5, 5])], [Y()],
        [scalar_int("zero", 0), ints("axes0", [0]), ints("ones3", [1, 1, 1])], opset=13)
    # Weights inline: the importer skips the 36 KiB of raw_data without reading it.
    save("inline_weights", [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["y"], name="/conv/Conv", pads=[1, 1, 1, 1]),
    ], [tensor_info("x", [1, 32, 9, 9])], [Y()], [weight("conv.weight", [32, 32, 3, 3]), weight("conv.bias", [32])],
        opset=13)
    # An initializer that is also listed as a graph input (IR version 3 style).
    save("initializer_as_input", [
        helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1),
    ], [tensor_info("x", [2, 3]), tensor_info("w", [4, 3])], [Y()], [weight("w", [4, 3])], opset=11, ir_version=3)

    # --- Bad input
    save("bad_unknown_op", [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("FancyOp", ["r"], ["y"], name="/block/mystery", domain="com.example"),
    ], [tensor_info("x", [2, 3])], [Y()], opset=13, check=False, extra_opsets=[helper.make_opsetid("com.example", 1)])
    save("bad_unsupported_op", [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Resize", ["r", "", "scales"], ["y"], name="/up/Resize", mode="nearest"),
    ], [tensor_info("x", [1, 2, 3, 3])], [Y()], [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])],
        opset=13)
    # Pad: constant with a value (opset 13), reflect over the last two axes, edge over some
    # axes only (opset 18's axes input), and wrap, which the catalog has no mode for.
    save("pad_modes", [
        float_constant("fill", 0.5),
        helper.make_node("Pad", ["x", "pads_constant", "fill"], ["a"], name="/pad/Pad", mode="constant"),
        helper.make_node("Pad", ["a", "pads_reflect"], ["b"], name="/reflect/Pad", mode="reflect"),
        helper.make_node("Pad", ["b", "pads_edge", "", "edge_axes"], ["y"], name="/edge/Pad", mode="edge"),
    ], [tensor_info("x", [2, 3, 5, 6])], [Y()],
        [ints("pads_constant", [0, 0, 1, 2, 0, 0, 3, 0]), ints("pads_reflect", [0, 0, 2, 1, 0, 0, 1, 3]),
         ints("pads_edge", [1, 2, 0, 1]), ints("edge_axes", [-1, 2])], opset=18)
    save("pad_wrap", [
        helper.make_node("Pad", ["x", "pads"], ["y"], name="/pad/Pad", mode="wrap"),
    ], [tensor_info("x", [2, 3, 5])], [Y()], [ints("pads", [0, 0, 1, 0, 0, 1])], opset=19)
    save("bad_opset_too_old", [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [tensor_info("x", [2, 3])], [Y()], opset=9)
    save("bad_opset_too_new", [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [tensor_info("x", [2, 3])], [Y()], opset=23, check=False)
    save("bad_cycle", [
        helper.make_node("Add", ["x", "b"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="second"),
        helper.make_node("Relu", ["b"], ["y"], name="third"),
    ], [tensor_info("x", [2, 3])], [Y()], opset=13, check=False)
    save("bad_missing_input_shape", [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)], [Y()], opset=13, check=False)
    save("bad_unknown_dimension", [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [tensor_info("x", [2, None])], [Y()], opset=13, check=False)
    save("bad_absurd_dimension", [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
    ], [tensor_info("x", [1_000_000_000, 1_000_000_000, 1_000_000])], [Y()], opset=13, check=False)
    save("bad_undefined_input", [
        helper.make_node("Add", ["x", "nowhere"], ["y"], name="add"),
    ], [tensor_info("x", [2, 3])], [Y()], opset=13, check=False)
    save("where_on_activations", [
        helper.make_node("Greater", ["x", "zero"], ["positive"], name="greater"),
        helper.make_node("Where", ["positive", "x", "zero"], ["y"], name="/mask/Where"),
    ], [tensor_info("x", [2, 3])], [Y()], [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])], opset=13)
    save("cast_to_half", [
        helper.make_node("Cast", ["x"], ["y"], name="/half/Cast", to=TensorProto.FLOAT16),
    ], [tensor_info("x", [2, 3])], [tensor_info("y", None, TensorProto.FLOAT16)], opset=13)
    save("cast_to_int", [
        helper.make_node("Cast", ["x"], ["y"], name="/ids/Cast", to=TensorProto.INT64),
    ], [tensor_info("x", [2, 3])], [tensor_info("y", None, TensorProto.INT64)], opset=13)
    save("bad_reshape_mismatch", [
        helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape"),
    ], [tensor_info("x", [2, 3])], [Y()], [ints("shape", [4, 2])], opset=13, check=False)

    # Added later; last, so the random weights of the graphs above stay as they were.
    save("pow", [
        float_constant("two", 2.0), float_constant("half", 0.5), float_constant("odd", 1.7, [1]),
        helper.make_node("Pow", ["x", "two"], ["a"], name="square"),
        helper.make_node("Pow", ["a", "half"], ["b"], name="root"),
        helper.make_node("Pow", ["b", "odd"], ["c"], name="odd_power"),
        helper.make_node("Pow", ["c", "exponent.weight"], ["d"], name="stored_exponent"),
        helper.make_node("Pow", ["d", "x"], ["y"], name="tensor_exponent"),
    ], [tensor_info("x", [2, 3, 5])], [Y()], [weight("exponent.weight", [3, 5])], opset=15)
    # LlamaRMSNorm as the TorchScript exporter writes it: x * rsqrt(mean(x^2) + eps) * w,
    # rsqrt as Sqrt then Div(1, .); ReduceMean's axes an input (opset 18).
    save("rmsnorm_decomposed", [
        float_constant("two", 2.0), float_constant("eps", 1e-6), float_constant("one", 1.0),
        helper.make_node("Pow", ["x", "two"], ["p"], name="/norm/Pow"),
        helper.make_node("ReduceMean", ["p", "last"], ["m"], name="/norm/ReduceMean", keepdims=1),
        helper.make_node("Add", ["m", "eps"], ["a"], name="/norm/Add"),
        helper.make_node("Sqrt", ["a"], ["s"], name="/norm/Sqrt"),
        helper.make_node("Div", ["one", "s"], ["r"], name="/norm/Div"),
        helper.make_node("Mul", ["x", "r"], ["n"], name="/norm/Mul"),
        helper.make_node("Mul", ["norm.weight", "n"], ["y"], name="/norm/Mul_1"),
    ], [tensor_info("x", [2, 5, 12])], [Y()], [weight("norm.weight", [12]), ints("last", [-1])], opset=18)


def benchmark_graph(path, layers=32, hidden=4096, heads=32, intermediate=11008, vocab=32000):
    """A graph shaped like Llama-2-7B (not committed; for timing the importer): 32 blocks of
    attention (q, k, v, o projections, no bias) and a SwiGLU MLP, written the way the
    TorchScript exporter writes a 3-D linear layer (Transpose of the weight, MatMul) and a
    reshape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape). RMSNorm is written as a
    LayerNormalization without bias, which has the same parameters; rotary embeddings and
    the causal mask are left out. 6,738,415,616 parameters, all external, never written."""
    nodes, inits = [], []
    head = hidden // heads

    def w(name, shape):
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "llama7b.weights"), ("offset", "0"), ("length", "0")):
            e = t.external_data.add()
            e.key, e.value = key, value
        inits.append(t)
        return name

    def n(op, inputs, name, **attributes):
        out = name + "_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attributes))
        return out

    def linear(x, weight, scope):
        t = n("Transpose", [weight], scope + "/Transpose", perm=[1, 0])
        return n("MatMul", [x, t], scope + "/MatMul")

    def split_heads(x, scope):
        shape = n("Shape", [x], scope + "/Shape")
        batch = n("Gather", [shape, "zero"], scope + "/Gather", axis=0)
        seq = n("Gather", [shape, "one"], scope + "/Gather_1", axis=0)
        dims = [n("Unsqueeze", [batch, "axes0"], scope + "/Unsqueeze"), n("Unsqueeze", [seq, "axes0"], scope + "/Unsqueeze_1")]
        target = n("Concat", dims + ["heads_head"], scope + "/Concat", axis=0)
        return n("Transpose", [n("Reshape", [x, target], scope + "/Reshape")], scope + "/Transpose_1", perm=[0, 2, 1, 3])

    inits += [scalar_int("zero", 0), scalar_int("one", 1), ints("axes0", [0]), ints("heads_head", [heads, head]),
              ints("merge", [0, 0, hidden])]
    nodes.append(constant("scale", helper.make_tensor("scale_value", TensorProto.FLOAT, [], [float(head) ** 0.5])))
    x = n("Gather", [w("model.embed_tokens.weight", [vocab, hidden]), "input_ids"], "/model/embed_tokens/Gather")
    for i in range(layers):
        p, s = f"model.layers.{i}", f"/model/layers.{i}"
        h = n("LayerNormalization", [x, w(p + ".input_layernorm.weight", [hidden])], s + "/input_layernorm/LayerNormalization", axis=-1)
        q = split_heads(linear(h, w(p + ".self_attn.q_proj.weight", [hidden, hidden]), s + "/self_attn/q_proj"), s + "/self_attn/q")
        k = split_heads(linear(h, w(p + ".self_attn.k_proj.weight", [hidden, hidden]), s + "/self_attn/k_proj"), s + "/self_attn/k")
        v = split_heads(linear(h, w(p + ".self_attn.v_proj.weight", [hidden, hidden]), s + "/self_attn/v_proj"), s + "/self_attn/v")
        scores = n("Div", [n("MatMul", [q, n("Transpose", [k], s + "/self_attn/Transpose", perm=[0, 1, 3, 2])], s + "/self_attn/MatMul"),
                           "scale"], s + "/self_attn/Div")
        a = n("MatMul", [n("Softmax", [scores], s + "/self_attn/Softmax", axis=-1), v], s + "/self_attn/MatMul_1")
        a = n("Reshape", [n("Transpose", [a], s + "/self_attn/Transpose_1", perm=[0, 2, 1, 3]), "merge"], s + "/self_attn/Reshape")
        x = n("Add", [x, linear(a, w(p + ".self_attn.o_proj.weight", [hidden, hidden]), s + "/self_attn/o_proj")], s + "/Add")
        h = n("LayerNormalization", [x, w(p + ".post_attention_layernorm.weight", [hidden])], s + "/post_attention_layernorm/LayerNormalization", axis=-1)
        gate = linear(h, w(p + ".mlp.gate_proj.weight", [intermediate, hidden]), s + "/mlp/gate_proj")
        gate = n("Mul", [gate, n("Sigmoid", [gate], s + "/mlp/act_fn/Sigmoid")], s + "/mlp/act_fn/Mul")
        up = linear(h, w(p + ".mlp.up_proj.weight", [intermediate, hidden]), s + "/mlp/up_proj")
        down = linear(n("Mul", [gate, up], s + "/mlp/Mul"), w(p + ".mlp.down_proj.weight", [hidden, intermediate]), s + "/mlp/down_proj")
        x = n("Add", [x, down], s + "/Add_1")
    x = n("LayerNormalization", [x, w("model.norm.weight", [hidden])], "/model/norm/LayerNormalization", axis=-1)
    logits = linear(x, w("lm_head.weight", [vocab, hidden]), "/lm_head")
    graph = helper.make_graph(nodes, "llama7b", [tensor_info("input_ids", ["batch", "seq"], TensorProto.INT64)],
                              [tensor_info(logits, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_onnx_fixtures")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    print(f"{path}: {len(nodes)} nodes, {sum(element_count(t) for t in inits if t.data_type == TensorProto.FLOAT):,} parameters")


if __name__ == "__main__":
    if "--benchmark" in sys.argv:
        benchmark_graph(sys.argv[sys.argv.index("--benchmark") + 1])
        sys.exit()
    if "--only-exports" in sys.argv:
        export_more()
        sys.exit()
    hand_graphs()
    if "--only-hand" not in sys.argv:
        export_torchvision()
        export_more()
