/// Normalisation and regularisation: BatchNormalization, InstanceNormalization,
/// LayerNormalization, GroupNormalization onto batchnorm, instancenorm, layernorm,
/// groupnorm; Dropout onto dropout (training) or nothing (inference).
///
/// A scale and bias stored as initializers are the layer's parameters (affine); stored
/// as Constant nodes they are fixed (torch exports affine=False layers with constant ones
/// and zeros). BatchNormalization maps onto the catalog's training-mode batchnorm in
/// both `training_mode`s: the graph describes the module that is trained, and inference
/// is an analysis option (README, "Training and inference memory"); its running mean
/// and variance are buffers, not parameters.
extension ONNXGraphImporter {
    /// The scale and bias of a normalisation: whether they are learned, and their sources.
    func affineOperands(scale: Int, bias: Int, channels: [Int]) throws -> (affine: Bool, hasBias: Bool, weights: [WeightSource?]) {
        let s = try weightSource(scale, "scale")
        let b = try weightSource(bias, "bias")
        for (operand, what) in [(s, "scale"), (b, "bias")] {
            if let operand, Count.product(operand.shape) != Count.product(channels) {
                throw failure("\(what) of shape \(shapeText(operand.shape)) for normalised shape \(shapeText(channels))")
            }
        }
        let learnedScale = s?.source.isLearned == true
        let learnedBias = b?.source.isLearned == true
        if learnedBias && !learnedScale {
            throw failure("a learned bias with a fixed scale; the catalog's normalisations learn the bias only with the scale")
        }
        return (learnedScale, learnedBias, learnedScale ? [s?.source, learnedBias ? b?.source : nil] : [])
    }

    mutating func importBatchNorm() throws {
        let x = try tensorInput(0)
        guard x.type.rank >= 2 else { throw failure("BatchNormalization of \(x.type) has no channel dimension") }
        try requireUnused(outputsFrom: 1, "running statistics or saved mean and variance")
        let channels = x.type.shape[1]
        let affine = try affineOperands(scale: 1, bias: 2, channels: [channels])
        guard affine.affine == affine.hasBias else { throw failure("a learned scale with a fixed bias (or the reverse)") }
        for (index, what) in [(3, "running mean"), (4, "running variance")] {
            guard let statistic = try constantInput(index), statistic.elements == channels else {
                throw failure("the \(what) (input \(index)) must be a stored tensor of \(channels) values")
            }
        }
        // ONNX's momentum weighs the running value (running = running * m + batch * (1 - m));
        // torch's weighs the batch. Rounded to the float32 attribute's precision: 1 - 0.9
        // is 0.09999999999999998 in doubles, torch's 0.1.
        let momentum = Double("\(Float(1 - (try float("momentum", default: 0.9))))") ?? 0.1
        let y = try add("batchnorm", ["input": .tensor(x), "eps": .float(try float("epsilon", default: 1e-5)),
                                      "momentum": .float(momentum), "affine": .bool(affine.affine)], weights: affine.weights)[0]
        try define(.tensor(y))
    }

    mutating func importInstanceNorm() throws {
        let x = try tensorInput(0)
        guard x.type.rank >= 3 else { throw failure("InstanceNormalization of \(x.type) needs [N, C, spatial...]") }
        let affine = try affineOperands(scale: 1, bias: 2, channels: [x.type.shape[1]])
        guard affine.affine == affine.hasBias else { throw failure("a learned scale with a fixed bias (or the reverse)") }
        let y = try add("instancenorm", ["input": .tensor(x), "eps": .float(try float("epsilon", default: 1e-5)),
                                         "affine": .bool(affine.affine)], weights: affine.weights)[0]
        try define(.tensor(y))
    }

    mutating func importLayerNorm() throws {
        let x = try tensorInput(0)
        try requireUnused(outputsFrom: 1, "the mean or inverse standard deviation")
        let axis = try normalizedAxis(try int("axis", default: -1), rank: x.type.rank)
        let normalized = Array(x.type.shape[axis...])
        let affine = try affineOperands(scale: 1, bias: 2, channels: normalized)
        let y = try add("layernorm", ["input": .tensor(x), "normalized": .int(x.type.rank - axis),
                                      "eps": .float(try float("epsilon", default: 1e-5)),
                                      "affine": .bool(affine.affine), "bias": .bool(affine.hasBias)], weights: affine.weights)[0]
        try define(.tensor(y))
    }

    mutating func importGroupNorm() throws {
        let x = try tensorInput(0)
        guard x.type.rank >= 2 else { throw failure("GroupNormalization of \(x.type) has no channel dimension") }
        let groups = try int("num_groups", default: 0)
        guard groups >= 1 else { throw failure("num_groups must be positive") }
        let channels = x.type.shape[1]
        guard channels % groups == 0 else { throw failure("\(channels) channels do not split into \(groups) groups") }
        if let scale = try constantInput(1), scale.elements == groups, groups != channels {
            try importGroupNormPerGroup(x, groups: groups)
            return
        }
        let affine = try affineOperands(scale: 1, bias: 2, channels: [channels])
        guard affine.affine == affine.hasBias else { throw failure("a learned scale with a fixed bias (or the reverse)") }
        let y = try add("groupnorm", ["input": .tensor(x), "groups": .int(groups), "eps": .float(try float("epsilon", default: 1e-5)),
                                      "affine": .bool(affine.affine)], weights: affine.weights)[0]
        try define(.tensor(y))
    }

    mutating func importDropout() throws {
        let x = try tensorInput(0)
        try requireUnused(outputsFrom: 1, "the dropout mask")
        let ratio: Double
        let training: Bool
        if opset >= 12 {
            ratio = try staticNumber(1, "the ratio") ?? 0.5
            training = (try staticNumber(2, "training_mode") ?? 0) != 0
        } else {
            ratio = try float("ratio", default: 0.5)
            training = node.outputs.count > 1 && !node.outputs[1].isEmpty
        }
        guard training, ratio > 0 else {
            try define(.tensor(x))
            return
        }
        try define(.tensor(try add("dropout", ["input": .tensor(x), "p": .float(ratio)])[0]))
    }

    /// GroupNormalization of opsets 18 to 20, whose scale and bias have one value per
    /// group (opset 21 and torch have one per channel): groupnorm without its affine
    /// transform, then the group's scale and bias applied over [N, G, C/G * spatial], the
    /// same element-wise work as groupnorm's own (a multiply and an add per element), with
    /// G parameters each.
    mutating func importGroupNormPerGroup(_ x: TensorRef, groups: Int) throws {
        guard let scale = try weightSource(1, "scale"), let bias = try weightSource(2, "bias"),
              scale.source.isLearned, bias.source.isLearned, Count.product(bias.shape).value == groups else {
            throw failure("GroupNormalization with a scale per group needs a stored scale and bias of \(groups) values each")
        }
        let normalized = try add("groupnorm", ["input": .tensor(x), "groups": .int(groups),
                                               "eps": .float(try float("epsilon", default: 1e-5)), "affine": .bool(false)])[0]
        let grouped = try addReshape(normalized, [x.type.shape[0], groups, Count.product(x.type.shape.dropFirst()).value / groups], role: "groups")
        var y = grouped
        for (operand, kind) in [(scale, "mul"), (bias, "add")] {
            guard case .constant(let c)? = values[operand.source.name] else { throw failure("internal: no constant '\(operand.source.name)'") }
            let p = try materialize(c.reshaped([groups, 1]), what: "the \(kind == "mul" ? "scale" : "bias")")
            y = try add(kind, ["input": .tensor(y), "other": .tensor(p)], hint: NameHint(role: kind == "mul" ? "scale" : "shift"))[0]
        }
        try define(.tensor(try addReshape(y, x.type.shape, role: "ungroup")))
    }
}
