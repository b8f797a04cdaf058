/// Dense layers: Gemm and MatMul onto linear (a stored weight) or matmul (two
/// activations), and Gather of a stored table by activation ids onto embedding.
extension ONNXGraphImporter {
    mutating func importGemm() throws {
        var a = try tensorInput(0)
        guard a.type.rank == 2 else { throw failure("Gemm's A must be 2-D, got \(a.type)") }
        if try int("transA", default: 0) == 1 {
            a = try add("permute", ["input": .tensor(a), "dims": Self.intList([1, 0])], hint: NameHint(role: "transpose"))[0]
        }
        let transB = try int("transB", default: 0) == 1
        let alpha = try float("alpha", default: 1)
        let beta = try float("beta", default: 1)
        let k = a.type.shape[1]
        var y: TensorRef
        var biasDone = false
        if case .constant(let b) = try requiredInput(1) {
            guard b.rank == 2, let source = b.source else {
                throw failure("Gemm's B must be a stored 2-D weight or an activation, got a computed constant of shape \(shapeText(b.shape))")
            }
            let (n, inner) = transB ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
            guard inner == k else { throw failure("cannot multiply \(a.type) by B of shape \(shapeText(b.shape))\(transB ? " transposed" : "")") }
            // A stored C of N elements is the linear layer's bias (beta scales the stored
            // values, which costs nothing at run time).
            var bias: WeightSource?
            if alpha == 1, case .constant(let c)? = try input(2), let cs = c.source, c.shape == [n] || c.shape == [1, n], beta != 0 {
                bias = cs
            }
            y = try add("linear", ["input": .tensor(a), "out": .int(n), "bias": .bool(bias != nil)], weights: [source, bias])[0]
            biasDone = bias != nil
        } else {
            var b = try tensorInput(1)
            guard b.type.rank == 2 else { throw failure("Gemm's B must be 2-D, got \(b.type)") }
            if transB { b = try add("permute", ["input": .tensor(b), "dims": Self.intList([1, 0])], hint: NameHint(role: "transpose"))[0] }
            y = try add("matmul", ["input": .tensor(a), "other": .tensor(b)])[0]
        }
        if alpha != 1 { y = try add("mul", ["input": .tensor(y), "other": .float(alpha)], hint: NameHint(role: "alpha"))[0] }
        if !biasDone, beta != 0, let c = try input(2) {
            y = try addOperand(y, c, kind: "add", scale: beta, role: "bias")
        }
        try define(.tensor(y))
    }

    mutating func importMatMul() throws {
        let first = try requiredInput(0), second = try requiredInput(1)
        if case .tensor(let a) = first, case .constant(let b) = second, b.rank == 2 {
            guard let source = b.source else {
                throw failure("MatMul by a computed constant of shape \(shapeText(b.shape)); nnflops maps only stored weights there")
            }
            guard a.type.shape.last == b.shape[0] else { throw failure("cannot multiply \(a.type) by \(shapeText(b.shape))") }
            let n = b.shape[1]
            // MatMul + Add(bias of N) is torch's linear layer on a 3-D input.
            let output = node.outputs.first ?? ""
            let (readers, isOutput) = readers(of: output)
            var bias: (source: WeightSource, add: Int)?
            if !isOutput, readers.count == 1, nodes[readers[0]].node.opType == "Add", isDefaultDomain(nodes[readers[0]].node) {
                let addNode = nodes[readers[0]].node
                if addNode.inputs.count == 2, addNode.inputs.filter({ $0 == output }).count == 1,
                   let other = addNode.inputs.first(where: { $0 != output }),
                   case .constant(let c)? = values[other], c.isLearned, c.shape == [n], let cs = c.source {
                    bias = (cs, readers[0])
                }
            }
            let y = try add("linear", ["input": .tensor(a), "out": .int(n), "bias": .bool(bias != nil)],
                            weights: [source, bias?.source])[0]
            if let bias {
                consumed.insert(bias.add)
                for out in nodes[bias.add].node.outputs where !out.isEmpty { values[out] = .tensor(y) }
            }
            try define(.tensor(y))
            return
        }
        var a = try tensorInput(0), b = try tensorInput(1)
        let squeezeFirst = a.type.rank == 1, squeezeLast = b.type.rank == 1
        if squeezeFirst { a = try addReshape(a, [1, a.type.shape[0]], role: "unsqueeze") }
        if squeezeLast { b = try addReshape(b, [b.type.shape[0], 1], role: "unsqueeze_other") }
        var y = try add("matmul", ["input": .tensor(a), "other": .tensor(b)])[0]
        if squeezeFirst || squeezeLast {
            var shape = y.type.shape
            if squeezeLast { shape.removeLast() }
            if squeezeFirst { shape.remove(at: shape.count - (squeezeLast ? 1 : 2)) }
            y = try addReshape(y, shape, role: "squeeze")
        }
        try define(.tensor(y))
    }

    /// Gather of a stored 2-D table by activation ids: an embedding lookup.
    mutating func importEmbedding(table: StaticTensor, ids: TensorRef) throws {
        guard table.rank == 2, let source = table.source else {
            throw failure("Gather of ids from a constant of shape \(shapeText(table.shape)); nnflops maps a stored 2-D table (an embedding)")
        }
        guard try int("axis", default: 0) == 0 else { throw failure("Gather of ids along axis 1 of a table") }
        let y = try add("embedding", ["input": .tensor(ids), "num": .int(table.shape[0]), "dim": .int(table.shape[1])],
                        weights: [source])[0]
        try define(.tensor(y))
    }
}
