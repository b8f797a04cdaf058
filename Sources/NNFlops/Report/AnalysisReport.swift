/// The report of `nnflops analyze`: schema `nnflops.report/1`. Key names are stable;
/// additions are backwards compatible, removals or renames bump the schema version.
public struct AnalysisReport: Encodable, Sendable, JSONRow {
    public var schema = "nnflops.report/1"
    public var model: String
    public var config: Config
    public var totals: Totals
    public var layers: [Layer] {
        get { layerTable.rows }
        _modify { yield &layerTable.rows }
        set { layerTable.rows = newValue }
    }
    /// The layers as the JSON writes them (key `layers`: JSONRowTable).
    var layerTable: JSONRowTable<Layer>
    public var byOp: [String: OpTotals]
    /// With a parallel layout (README, "Training on many GPUs"): the layout and every stage.
    public var parallel: ParallelReport?
    /// The analysis's warnings (dead code: CostAnalysis.warnings); absent when none.
    public var warnings: [AnalysisWarning]?

    public struct Config: Encodable, Sendable, JSONRow {
        public var batch: Int?
        public var attentionFlops: String
        /// Whether any operator is counted under the attention convention (the table states
        /// the convention only then; not in the JSON, which always has `attention_flops`).
        public var hasAttention = true
        public var depth: Int?
        /// Final values of the spec's params, in the spec's order. Kept as a list: the
        /// first `[String: String]` of a run builds its storage's metadata by mangled
        /// name (its specialisation is ArgumentParser's too), checking `String: Hashable`
        /// against every conformance record, 270,000 instructions (README, "Speed").
        public var paramValues: [(name: String, value: String)]
        /// The run configuration the memory figures are for (present with `totals.memory`).
        public var run: Run?

        /// Final values of the spec's params, by name.
        public var params: [String: String] {
            Dictionary(paramValues.lazy.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        }

        enum CodingKeys: String, CodingKey {
            case batch, depth, params, run
            case attentionFlops = "attention_flops"
        }

        typealias RowKey = CodingKeys

        func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
            try visitor.visit(attentionFlops, .attentionFlops)
            try visitor.visit(batch, .batch)
            try visitor.visit(depth, .depth)
            try visitor.visit(object: membersInKeyOrder(paramValues.lazy.map { (key: $0.name, value: $0.value) }), .params)
            try visitor.visit(encodedIfPresent: run, .run)
        }

        public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
    }

    /// How the model is run (README, "Training and inference memory").
    public struct Run: Codable, Sendable {
        public var mode: RunMode
        public var optimizer: String
        public var precision: String
        public var checkpoint: String
        public var microBatches: Int
        public var weightDecay: Double
        public var gradClip: Double?
        public var weightPrecision: String?
        public var foldBN: Bool

        enum CodingKeys: String, CodingKey {
            case mode, optimizer, precision, checkpoint
            case microBatches = "micro_batches"
            case weightDecay = "weight_decay"
            case gradClip = "grad_clip"
            case weightPrecision = "weight_precision"
            case foldBN = "fold_bn"
        }
    }

    /// `totals.memory`: exact bytes.
    public struct Memory: Codable, Sendable {
        public var paramsBytes: Int
        public var masterParamsBytes: Int
        public var gradsBytes: Int
        public var optimizerStateBytes: Int
        public var buffersBytes: Int
        public var inputsBytes: Int
        /// Live at the end of forward (saved tensors, outputs and loss; inputs excluded).
        public var savedActivationsBytes: Int
        public var peakBytes: Int
        public var peak: Peak
        /// With a parallel layout: the pipeline stage these figures are for (the one with
        /// the highest peak), and the micro-batches it holds at its peak.
        public var stage: String?
        public var inFlightMicroBatches: Double?
        /// PyTorch's CUDA caching allocator over the same run (README, "The CUDA caching
        /// allocator"); the figures above are the tensors' own bytes.
        /// Absent for a pipeline stage of a parallel layout, whose peak holds several
        /// micro-batches the allocator model does not replay.
        public var cudaAllocator: CUDAAllocator?

        public struct CUDAAllocator: Codable, Sendable {
            public var reservedBytes: Int
            public var allocatedPeakBytes: Int
            public var staticAllocatedBytes: Int
            public var cublasWorkspaces: Int
            public var cublasWorkspaceBytes: Int

            enum CodingKeys: String, CodingKey {
                case reservedBytes = "reserved_bytes"
                case allocatedPeakBytes = "allocated_peak_bytes"
                case staticAllocatedBytes = "static_allocated_bytes"
                case cublasWorkspaces = "cublas_workspaces"
                case cublasWorkspaceBytes = "cublas_workspace_bytes"
            }
        }

        public struct Peak: Codable, Sendable {
            public var layer: String
            public var phase: String
            public var live: [MemoryAnalysis.LiveTensor]
        }

        enum CodingKeys: String, CodingKey {
            case peak
            case paramsBytes = "params_bytes"
            case masterParamsBytes = "master_params_bytes"
            case gradsBytes = "grads_bytes"
            case optimizerStateBytes = "optimizer_state_bytes"
            case buffersBytes = "buffers_bytes"
            case inputsBytes = "inputs_bytes"
            case savedActivationsBytes = "saved_activations_bytes"
            case peakBytes = "peak_bytes"
            case stage
            case inFlightMicroBatches = "in_flight_micro_batches"
            case cudaAllocator = "cuda_allocator"
        }
    }

    public struct Totals: Encodable, Sendable, JSONRow {
        public var params: Int
        public var trainableParams: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int
        public var backwardMacs: Int
        public var inputGradFlops: Int
        public var weightGradFlops: Int
        public var trainStepFlops: Int
        public var trainStepMacs: Int
        public var operators: Int
        /// With a run configuration: forward FLOPs re-run by checkpointing (all micro-batches).
        public var recomputeFlops: Int?
        /// With a run configuration: the optimizer step (then included in train_step_flops).
        public var optimizerStepFlops: Int?
        public var memory: Memory?
        /// With a parallel layout: one GPU's communication per step (the stage that moves most).
        public var communication: CommunicationReport?

        enum CodingKeys: String, CodingKey {
            case params, operators, memory, communication
            case recomputeFlops = "recompute_flops"
            case optimizerStepFlops = "optimizer_step_flops"
            case trainableParams = "trainable_params"
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
            case backwardMacs = "backward_macs"
            case inputGradFlops = "input_grad_flops"
            case weightGradFlops = "weight_grad_flops"
            case trainStepFlops = "train_step_flops"
            case trainStepMacs = "train_step_macs"
        }

        typealias RowKey = CodingKeys

        func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
            try visitor.visit(backwardFlops, .backwardFlops)
            try visitor.visit(backwardMacs, .backwardMacs)
            try visitor.visit(encodedIfPresent: communication, .communication)
            try visitor.visit(forwardFlops, .forwardFlops)
            try visitor.visit(forwardMacs, .forwardMacs)
            try visitor.visit(inputGradFlops, .inputGradFlops)
            try visitor.visit(encodedIfPresent: memory, .memory)
            try visitor.visit(operators, .operators)
            try visitor.visit(optimizerStepFlops, .optimizerStepFlops)
            try visitor.visit(params, .params)
            try visitor.visit(recomputeFlops, .recomputeFlops)
            try visitor.visit(trainStepFlops, .trainStepFlops)
            try visitor.visit(trainStepMacs, .trainStepMacs)
            try visitor.visit(trainableParams, .trainableParams)
            try visitor.visit(weightGradFlops, .weightGradFlops)
        }

        public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
    }

    public struct Layer: Codable, Sendable, JSONRow {
        public var name: String
        /// Operator kind, or `block` when `--depth` merged several kinds.
        public var op: String
        public var detail: String
        public var outputShape: [Int]
        public var params: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int
        public var backwardMacs: Int
        public var inputGradFlops: Int
        public var weightGradFlops: Int
        /// Operators merged into this row (1 unless aggregated by `--depth`).
        public var operators: Int
        /// With a run configuration: bytes this layer keeps for backward (each tensor
        /// attributed once, to its first keeper).
        public var savedBytes: Int?
        /// The layer whose parameters this one uses (`tie = "wte"`): its own count is 0.
        public var tiedTo: String?

        enum CodingKeys: String, CodingKey {
            case name, op, detail, params, operators
            case savedBytes = "saved_bytes"
            case tiedTo = "tied_to"
            case outputShape = "output_shape"
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
            case backwardMacs = "backward_macs"
            case inputGradFlops = "input_grad_flops"
            case weightGradFlops = "weight_grad_flops"
        }

        typealias RowKey = CodingKeys

        /// The members in their keys' order (JSONRow): the layer table is most of a
        /// report's bytes.
        func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
            try visitor.visit(backwardFlops, .backwardFlops)
            try visitor.visit(backwardMacs, .backwardMacs)
            try visitor.visit(detail, .detail)
            try visitor.visit(forwardFlops, .forwardFlops)
            try visitor.visit(forwardMacs, .forwardMacs)
            try visitor.visit(inputGradFlops, .inputGradFlops)
            try visitor.visit(name, .name)
            try visitor.visit(op, .op)
            try visitor.visit(operators, .operators)
            try visitor.visit(outputShape, .outputShape)
            try visitor.visit(params, .params)
            try visitor.visit(savedBytes, .savedBytes)
            try visitor.visit(tiedTo, .tiedTo)
            try visitor.visit(weightGradFlops, .weightGradFlops)
        }

        public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
    }

    public struct OpTotals: Codable, Sendable, JSONRow {
        public var count: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int

        /// One more operator of this kind.
        mutating func add(_ cost: OperatorCost) {
            count += 1
            forwardFlops += cost.forward.flops.value
            forwardMacs += cost.forward.macs.value
            backwardFlops += cost.backward.flops.value
        }

        enum CodingKeys: String, CodingKey {
            case count
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
        }

        typealias RowKey = CodingKeys

        func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
            try visitor.visit(backwardFlops, .backwardFlops)
            try visitor.visit(count, .count)
            try visitor.visit(forwardFlops, .forwardFlops)
            try visitor.visit(forwardMacs, .forwardMacs)
        }

        public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
    }

    enum CodingKeys: String, CodingKey {
        case schema, model, config, totals, parallel, warnings
        case layerTable = "layers"
        case byOp = "by_op"
    }

    typealias RowKey = CodingKeys

    /// The report's members in their keys' order (JSONRow): through `Codable`, its objects'
    /// keyed containers cost more than all their members' bytes.
    func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
        try visitor.visit(object: membersInKeyOrder(byOp), .byOp)
        try visitor.visit(encoded: config, .config)
        try visitor.visit(encoded: layerTable, .layerTable)
        try visitor.visit(model, .model)
        try visitor.visit(encodedIfPresent: parallel, .parallel)
        try visitor.visit(schema, .schema)
        try visitor.visit(encoded: totals, .totals)
        try visitor.visit(encodedIfPresent: warnings, .warnings)
    }

    public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
}

extension AnalysisReport {
    /// Builds the report from a graph's cost analysis. `depth` merges layers whose names
    /// share their first `depth` components (`layer1.0.conv1` at depth 2 -> `layer1.0`).
    /// Nodes of one name (a module called several times, torchvision's `relu`) are always
    /// one row, their calls summed.
    public init(graph: Graph, analysis: CostAnalysis, options: CountOptions, depth: Int? = nil,
                memory: MemoryAnalysis? = nil, foldBN: Bool = false, parallel: ParallelAnalysis? = nil) {
        model = graph.model
        var params: [(name: String, value: String)] = []
        var batch: Int?
        for (name, value) in graph.settings {
            params.append((name, value.description))
            if name == "batch", case .int(let b) = value { batch = b }
        }
        config = Config(batch: batch, attentionFlops: options.attention.rawValue, depth: depth, paramValues: params)
        config.hasAttention = graph.nodes.indices.contains { graph.nodes[$0].op.countsUnderAttentionConvention }  // no Node copies
        totals = Totals(params: analysis.parameters, trainableParams: analysis.trainableParameters,
                        forwardFlops: analysis.forward.flops.value, forwardMacs: analysis.forward.macs.value,
                        backwardFlops: analysis.backward.flops.value, backwardMacs: analysis.backward.macs.value,
                        inputGradFlops: analysis.inputGradient.flops.value, weightGradFlops: analysis.weightGradient.flops.value,
                        trainStepFlops: analysis.trainStep.flops.value, trainStepMacs: analysis.trainStep.macs.value,
                        operators: analysis.layers.count)
        // Consecutive layers of one kind (a chain of one operator) are summed into one
        // running total, read from and written to the table once a run: a hash a layer,
        // and a copy of each LayerCost, had cost 380 instructions a layer. The table's
        // order does not matter: `by_op` is written in key order.
        var byOp: [String: OpTotals] = [:]
        var run: (kind: String, totals: OpTotals)?
        for index in analysis.layers.indices {
            let kind = analysis.layers[index].kind
            if let current = run, current.kind != kind {
                byOp[current.kind] = current.totals
                run = nil
            }
            if run == nil { run = (kind, byOp[kind] ?? OpTotals(count: 0, forwardFlops: 0, forwardMacs: 0, backwardFlops: 0)) }
            run?.totals.add(analysis.layers[index].cost)
        }
        if let run { byOp[run.kind] = run.totals }
        self.byOp = byOp
        warnings = analysis.warnings.isEmpty ? nil : analysis.warnings
        // The first node to use each parameter owns it; a later user is tied to that node.
        var owner = [Int?](repeating: nil, count: graph.parameters.count)
        for index in graph.nodes.indices {
            for id in graph.nodes[index].parameterIDs where owner[id] == nil { owner[id] = index }
        }
        var rows = analysis.layers.map { layer in
            // The node's parameter list alone: copying the whole Node (its operator, call
            // and arguments) per row cost more than the row itself.
            let parameterIDs = graph.nodes[layer.node].parameterIDs
            let tiedTo = parameterIDs.lazy.compactMap { owner[$0] }.first { $0 != layer.node }.map { graph.nodes[$0].name }
            return Layer(name: layer.name, op: layer.kind, detail: layer.detail, outputShape: layer.outputShapes.first ?? [],
                         params: layer.parameters, forwardFlops: layer.cost.forward.flops.value, forwardMacs: layer.cost.forward.macs.value,
                         backwardFlops: layer.cost.backward.flops.value, backwardMacs: layer.cost.backward.macs.value,
                         inputGradFlops: layer.cost.inputGradient.flops.value, weightGradFlops: layer.cost.weightGradient.flops.value,
                         operators: 1, tiedTo: tiedTo)
        }
        if let memory {
            let c = memory.configuration
            config.run = Run(mode: c.mode, optimizer: c.optimizer.rawValue, precision: c.precision.rawValue,
                             checkpoint: c.checkpointDescription, microBatches: c.accumulationSteps, weightDecay: c.weightDecay,
                             gradClip: c.gradClip, weightPrecision: c.weightPrecision?.rawValue, foldBN: foldBN)
            let steps = c.accumulationSteps
            totals.recomputeFlops = (memory.recomputeFLOPs * steps).value
            totals.optimizerStepFlops = memory.optimizerFLOPs.value
            totals.trainStepFlops = TrainingStepFLOPs.flops(costs: analysis, memory: memory, microBatches: steps).value
            totals.trainStepMacs = TrainingStepFLOPs.macs(costs: analysis, memory: memory, microBatches: steps).value
            let cuda = memory.cudaAllocator
            totals.memory = Memory(paramsBytes: memory.paramsBytes, masterParamsBytes: memory.masterParamsBytes, gradsBytes: memory.gradsBytes,
                                   optimizerStateBytes: memory.optimizerStateBytes, buffersBytes: memory.buffersBytes,
                                   inputsBytes: memory.inputsBytes, savedActivationsBytes: memory.savedActivationsBytes,
                                   peakBytes: memory.peakBytes,
                                   peak: .init(layer: memory.peakLayer, phase: memory.peakPhase.rawValue, live: memory.peakLive),
                                   cudaAllocator: .init(reservedBytes: cuda.reservedBytes, allocatedPeakBytes: cuda.allocatedPeakBytes,
                                                        staticAllocatedBytes: cuda.staticAllocatedBytes,
                                                        cublasWorkspaces: cuda.cuBLASWorkspaces,
                                                        cublasWorkspaceBytes: cuda.hopperCuBLASWorkspaceBytes))
            for i in rows.indices where i < memory.layers.count { rows[i].savedBytes = memory.layers[i].savedBytes }
        }
        if let parallel {
            // One GPU's memory: the stage with the highest peak. Each layer's saved bytes are
            // one GPU's (its stage's, its tensor-parallel piece), summed over the operators
            // it became.
            let stage = parallel.peak
            totals.memory = Memory(stage: stage)
            var saved = [Int](repeating: 0, count: rows.count)
            for s in parallel.stages {
                let rankNodes = s.part.ranges.flatMap { Array($0) }
                for (i, layer) in s.memory.layers.enumerated() where i < rankNodes.count {
                    if let model = parallel.tensorParallel.origin[rankNodes[i]], model < saved.count { saved[model] += layer.savedBytes }
                }
            }
            for i in rows.indices { rows[i].savedBytes = saved[i] }
            let report = ParallelReport(parallel)
            self.parallel = report
            totals.communication = report.busiestStage?.communication
        }
        // Without --depth, rows merge only where a module was called again, or where
        // names differ only in empty components (which `groupName` drops).
        let merges = depth != nil || !graph.nodeNamesAreUnique || rows.contains { Self.hasEmptyComponent($0.name) }
        layerTable = JSONRowTable(rows: merges ? Self.aggregate(rows, depth: depth ?? Int.max) : rows)
    }

    /// The row a layer joins at `depth`: its name's first `depth` dot-separated components
    /// (empty components dropped, as `split` drops them). Names without empty components,
    /// all of the zoo's, take their prefix by byte without splitting.
    static func groupName(_ name: String, depth: Int) -> String {
        let keep = max(1, depth)
        let utf8 = name.utf8
        let dot = UInt8(ascii: ".")
        guard utf8.first != dot, utf8.last != dot else { return splitGroupName(name, keep) }
        var components = 1
        var previous: UInt8 = 0
        for index in utf8.indices {
            let byte = utf8[index]
            if byte == dot {
                if previous == dot { return splitGroupName(name, keep) }
                if components == keep {
                    // Past this dot, any empty component is dropped anyway.
                    return String(name[..<index])
                }
                components += 1
            }
            previous = byte
        }
        return name
    }

    /// A leading or trailing dot, or two in a row (found by byte, without copying).
    static func hasEmptyComponent(_ name: String) -> Bool {
        let dot = UInt8(ascii: ".")
        func scan(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let first = utf8.first, let last = utf8.last else { return false }
            if first == dot || last == dot { return true }
            var previous: UInt8 = 0
            for byte in utf8 {
                if byte == dot && previous == dot { return true }
                previous = byte
            }
            return false
        }
        return name.utf8.withContiguousStorageIfAvailable(scan) ?? Array(name.utf8).withUnsafeBufferPointer(scan)
    }

    private static func splitGroupName(_ name: String, _ keep: Int) -> String {
        name.split(separator: ".").prefix(keep).joined(separator: ".")
    }

    static func aggregate(_ rows: [Layer], depth: Int) -> [Layer] {
        var merged: [Layer] = []
        merged.reserveCapacity(rows.count)
        var index: [String: Int] = Dictionary(minimumCapacity: rows.count)
        for row in rows {
            let key = groupName(row.name, depth: depth)
            guard let at = index[key] else {
                index[key] = merged.count
                merged.append(row)
                if key != row.name {
                    merged[merged.count - 1].name = key
                    merged[merged.count - 1].detail = ""
                }
                continue
            }
            // In place: copying the row out and back retained and released its strings.
            if merged[at].op != row.op { merged[at].op = "block" }
            if key != row.name || merged[at].detail != row.detail { merged[at].detail = "" }
            merged[at].outputShape = row.outputShape
            merged[at].params += row.params
            merged[at].forwardFlops += row.forwardFlops
            merged[at].forwardMacs += row.forwardMacs
            merged[at].backwardFlops += row.backwardFlops
            merged[at].backwardMacs += row.backwardMacs
            merged[at].inputGradFlops += row.inputGradFlops
            merged[at].weightGradFlops += row.weightGradFlops
            merged[at].operators += row.operators
            if merged[at].tiedTo == nil { merged[at].tiedTo = row.tiedTo }
            if let saved = row.savedBytes { merged[at].savedBytes = (merged[at].savedBytes ?? 0) + saved }
        }
        return merged
    }
}
