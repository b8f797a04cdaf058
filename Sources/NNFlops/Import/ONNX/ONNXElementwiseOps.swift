#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise operators: Add, Sub, Mul, Div (broadcasting; a stored operand is a
/// parameter, a one-value constant is a number), Neg, the activations, Softmax and
/// LogSoftmax; and the patterns exporters write for operators ONNX lacked before opset
/// 20 (exact GELU as x * 0.5 * (1 + erf(x / sqrt 2))) or that they decompose (SiLU as
/// x * sigmoid(x)), recognised and mapped onto gelu and silu.
extension ONNXGraphImporter {
    mutating func importBinary() throws {
        let kind = node.opType.lowercased()
        if node.opType == "Div" || node.opType == "Mul", try importGELUPattern() { return }
        let lhs = try requiredInput(0), rhs = try requiredInput(1)
        switch (lhs, rhs) {
        case (.tensor(let a), .tensor(let b)):
            try define(.tensor(try add(kind, ["input": .tensor(a), "other": .tensor(b)])[0]))
        case (.tensor(let a), .constant):
            try define(.tensor(try addOperand(a, rhs, kind: kind)))
        case (.constant(let c), .tensor(let b)):
            if c.isLearned {
                let p = try materialize(c, what: "input 0")
                try define(.tensor(try add(kind, ["input": .tensor(p), "other": .tensor(b)])[0]))
            } else if kind == "add" || kind == "mul" {
                try define(.tensor(try addOperand(b, lhs, kind: kind)))
            } else if kind == "sub" {
                // c - x (torch's rsub) as -x + c: the catalog's sub takes the tensor first.
                // One operation per element more than torch's fused rsub kernel forward,
                // the same backward (README, "Reading ONNX files").
                let zero = c.scalar == 0
                let negated = try add("neg", ["input": .tensor(b)], hint: zero ? nil : NameHint(role: "neg"))[0]
                try define(.tensor(zero ? negated : try addOperand(negated, lhs, kind: "add")))
            } else {
                // c / x as torch runs it: Tensor.__rtruediv__ is reciprocal(x) * c
                // (torch/_tensor.py); 1 / sqrt(x) is rsqrt.
                try define(.tensor(try importReciprocal(of: b, times: lhs)))
            }
        case (.constant, .constant):
            throw failure("internal: a constant \(node.opType) was not folded")
        }
    }

    /// `kind(x, operand)`: a tensor operand as is (scaled when `scale` != 1), a stored
    /// constant as a parameter, a constant with one value as that number. A constant
    /// tensor that is not stored (a stochastic-depth mask, an attention mask) and does
    /// not enlarge `x` is priced as a number: the same FLOPs forward and backward (it
    /// needs no gradient), without the few bytes backward keeps of it.
    mutating func addOperand(_ x: TensorRef, _ operand: ONNXValue, kind: String, scale: Double = 1, role: String? = nil) throws -> TensorRef {
        let hint = role.map { NameHint(role: $0) }
        switch operand {
        case .tensor(var t):
            if scale != 1 { t = try add("mul", ["input": .tensor(t), "other": .float(scale)], hint: NameHint(role: "scale"))[0] }
            return try add(kind, ["input": .tensor(x), "other": .tensor(t)], hint: hint)[0]
        case .constant(let c):
            if c.isLearned {
                let p = try materialize(c, what: "the operand")
                return try add(kind, ["input": .tensor(x), "other": .tensor(p)], hint: hint)[0]
            }
            guard let shape = StaticTensor.broadcast([x.type.shape, c.shape]), shape == x.type.shape else {
                throw failure("\(node.opType) of \(x.type) with a constant of shape \(shapeText(c.shape)) that broadcasts it; nnflops has no operator for a constant tensor operand")
            }
            let number = (c.scalar ?? 1) * scale
            guard number.isFinite else { throw failure("\(node.opType) by the constant \(number)") }
            return try add(kind, ["input": .tensor(x), "other": .float(number)], hint: hint)[0]
        }
    }

    /// The element-wise math functions of one tensor, each onto its catalog operator.
    mutating func importUnary() throws {
        let kinds = ["Neg": "neg", "Sqrt": "sqrt", "Exp": "exp", "Log": "log", "Abs": "abs", "Erf": "erf"]
        let x = try tensorInput(0)
        if node.opType == "Reciprocal" {
            try define(.tensor(try importReciprocal(of: x, times: nil)))
            return
        }
        guard let kind = kinds[node.opType] else { throw unsupported() }
        if kind == "sqrt", try importRsqrtPattern(x) { return }
        try define(.tensor(try add(kind, ["input": .tensor(x)])[0]))
    }

    /// 1 / x (Reciprocal, or Div with a constant numerator c: reciprocal(x) * c, as torch's
    /// `c / x` runs). A reciprocal of a Sqrt this node alone reads was rsqrt before export.
    mutating func importReciprocal(of x: TensorRef, times numerator: ONNXValue?) throws -> TensorRef {
        let scale: Double? = numerator.flatMap { if case .constant(let c) = $0 { c.scalar } else { nil } }
        let y = try add("reciprocal", ["input": .tensor(x)], hint: numerator == nil || scale == 1 ? nil : NameHint(role: "reciprocal"))[0]
        guard let numerator, scale != 1 else { return y }
        return try addOperand(y, numerator, kind: "mul")
    }

    /// Sqrt read only by `1 / sqrt` (Div(1, .) or Reciprocal): torch.rsqrt, which the
    /// TorchScript exporter writes as the two (RMSNorm's `x * rsqrt(mean(x^2) + eps)`).
    /// True when it matched.
    mutating func importRsqrtPattern(_ x: TensorRef) throws -> Bool {
        guard let output = node.outputs.first, let reader = soleReader(of: output) else { return false }
        let next = nodes[reader].node
        let isReciprocal = next.opType == "Reciprocal"
            || (next.opType == "Div" && next.inputs.count == 2 && next.inputs[1] == output && next.inputs[0] != output
                && constantValue(next.inputs[0]).map { $0 == 1 } == true)
        guard isReciprocal, let result = next.outputs.first else { return false }
        let y = try add("rsqrt", ["input": .tensor(x)])[0]
        consumed.insert(reader)
        values[result] = .tensor(y)
        return true
    }

    mutating func importPow() throws {
        let x = try tensorInput(0)
        let exponent: Value
        switch try requiredInput(1) {
        case .tensor(let t): exponent = .tensor(t)
        case .constant(let c):
            if c.isLearned {
                exponent = .tensor(try materialize(c, what: "the exponent"))
            } else if let value = c.scalar, c.elements == 1 || StaticTensor.broadcast([x.type.shape, c.shape]) == x.type.shape {
                exponent = .float(value)
            } else {
                throw failure("Pow by a constant tensor of shape \(shapeText(c.shape)) with different values; nnflops maps a number or a tensor of the graph as the exponent")
            }
        }
        try define(.tensor(try add("pow", ["input": .tensor(x), "exponent": exponent])[0]))
    }

    mutating func importActivation() throws {
        let x = try tensorInput(0)
        let input: KeyValuePairs<String, Value> = ["input": .tensor(x)]
        let y: TensorRef
        switch node.opType {
        case "Relu": y = try add("relu", input)[0]
        case "Tanh": y = try add("tanh", input)[0]
        case "HardSwish": y = try add("hardswish", input)[0]
        case "Sigmoid":
            if try importSiLUPattern(x) { return }
            y = try add("sigmoid", input)[0]
        case "LeakyRelu":
            y = try add("leaky_relu", ["input": .tensor(x), "slope": .float(try float("alpha", default: 0.01))])[0]
        case "HardSigmoid":
            // The catalog's hardsigmoid is torch's: relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1).
            let alpha = try float("alpha", default: 0.2), beta = try float("beta", default: 0.5)
            guard abs(alpha - 1.0 / 6) < 1e-6, abs(beta - 0.5) < 1e-6 else {
                throw failure("HardSigmoid with alpha \(alpha), beta \(beta); the catalog's hardsigmoid is alpha 1/6, beta 0.5 (torch's)")
            }
            y = try add("hardsigmoid", input)[0]
        case "Gelu":
            let approximate = try string("approximate", default: "none")
            guard approximate == "none" || approximate == "tanh" else { throw failure("Gelu with approximate '\(approximate)'") }
            y = try add("gelu", ["input": .tensor(x), "approximate": .string(approximate)])[0]
        case "Clip":
            let low = try staticNumber(1, "min") ?? -Double.infinity
            let high = try staticNumber(2, "max") ?? Double.infinity
            // torch exports relu6 (hardtanh 0..6) and clamp(min=0) as these Clips.
            if low == 0 && high == 6 { y = try add("relu6", input)[0] }
            else if low == 0 && high == .infinity { y = try add("relu", input)[0] }
            else if low == -.infinity && high == .infinity { y = x }
            else {
                y = try add("clamp", ["input": .tensor(x), "min": low.isFinite ? .float(low) : .none,
                                      "max": high.isFinite ? .float(high) : .none])[0]
            }
        default:
            throw unsupported()
        }
        try define(.tensor(y))
    }

    mutating func importSoftmax() throws {
        let x = try tensorInput(0)
        let kind = node.opType == "Softmax" ? "softmax" : "log_softmax"
        let axis = try normalizedAxis(try int("axis", default: opset >= 13 ? -1 : 1), rank: x.type.rank)
        if opset >= 13 || axis == x.type.rank - 1 {
            try define(.tensor(try add(kind, ["input": .tensor(x), "dim": .int(axis)])[0]))
            return
        }
        // Before opset 13 the input is taken as 2-D, [prod(:axis), prod(axis:)], and
        // normalised over its second dimension.
        let flat = try addReshape(x, [Count.product(x.type.shape[..<axis]).value, Count.product(x.type.shape[axis...]).value], role: "flatten")
        let y = try add(kind, ["input": .tensor(flat), "dim": .int(-1)])[0]
        try define(.tensor(try addReshape(y, x.type.shape, role: "unflatten")))
    }

    // MARK: - Patterns

    /// A constant operand's single value.
    func constantValue(_ name: String) -> Double? {
        if case .constant(let c)? = values[name] { return c.scalar }
        return nil
    }

    /// The only reader of `value`, when it has exactly one and is not a graph output.
    func soleReader(of value: String) -> Int? {
        let (readers, isOutput) = readers(of: value)
        guard !isOutput, readers.count == 1, !consumed.contains(readers[0]), isDefaultDomain(nodes[readers[0]].node) else { return nil }
        return readers[0]
    }

    /// Exact GELU as torch exports it below opset 20, from the node dividing x by sqrt 2:
    /// Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5). True when it matched.
    mutating func importGELUPattern() throws -> Bool {
        guard node.inputs.count == 2, case .tensor(let x)? = try input(0), let c = constantValue(node.inputs[1]) else { return false }
        let scaled = node.opType == "Div" ? abs(c - 2.0.squareRoot()) < 1e-4 : abs(c - 0.5.squareRoot()) < 1e-4
        guard scaled, let output = node.outputs.first,
              let erf = soleReader(of: output), nodes[erf].node.opType == "Erf",
              let erfOut = nodes[erf].node.outputs.first, let plus = soleReader(of: erfOut) else { return false }
        let plusNode = nodes[plus].node
        guard plusNode.opType == "Add", plusNode.inputs.count == 2, plusNode.inputs.contains(erfOut),
              let one = plusNode.inputs.first(where: { $0 != erfOut }), constantValue(one).map({ abs($0 - 1) < 1e-6 }) == true,
              let plusOut = plusNode.outputs.first, let times = soleReader(of: plusOut) else { return false }
        let timesNode = nodes[times].node
        guard timesNode.opType == "Mul", Set(timesNode.inputs) == Set([plusOut, node.inputs[0]]),
              let timesOut = timesNode.outputs.first, let half = soleReader(of: timesOut) else { return false }
        let halfNode = nodes[half].node
        guard halfNode.opType == "Mul", halfNode.inputs.count == 2, halfNode.inputs.contains(timesOut),
              let h = halfNode.inputs.first(where: { $0 != timesOut }), constantValue(h).map({ abs($0 - 0.5) < 1e-6 }) == true,
              let result = halfNode.outputs.first else { return false }
        let y = try add("gelu", ["input": .tensor(x)])[0]
        consumed.formUnion([erf, plus, times, half])
        values[result] = .tensor(y)
        return true
    }

    /// SiLU as x * sigmoid(x), from the Sigmoid node. True when it matched.
    mutating func importSiLUPattern(_ x: TensorRef) throws -> Bool {
        guard let output = node.outputs.first, let product = soleReader(of: output) else { return false }
        let productNode = nodes[product].node
        guard productNode.opType == "Mul", productNode.inputs.count == 2, Set(productNode.inputs) == Set([output, node.inputs[0]]),
              let result = productNode.outputs.first else { return false }
        let y = try add("silu", ["input": .tensor(x)])[0]
        consumed.insert(product)
        values[result] = .tensor(y)
        return true
    }
}
