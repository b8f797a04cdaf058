/// Communication of a run on many GPUs (README, "Training on many GPUs"): an analysis of
/// one pipeline stage's GPU, like its memory. It adds up what the stage's operators declare
/// (`Operator.collectives`: the tensor-parallel all-reduces, all-gathers and
/// reduce-scatters), what data parallelism reduces (the gradients, and under ZeRO the
/// parameters it gathers), what the pipeline sends (activations forward, their gradients
/// back) and the gradients of parameters two stages share (the tied embedding).
///
/// Volumes are NCCL's ring algorithm's, per GPU: an all-reduce of B bytes over n ranks sends
/// 2 (n - 1) / n x B, a reduce-scatter or all-gather (n - 1) / n x B (B the whole buffer),
/// a send B. Time per call = volume / bus bandwidth + NCCL's ring latency model
/// (src/graph/tuning.cc, NCCL 2.28.9, the version PyTorch 2.11 ships; its default tuner
/// constants for Ring/Simple): a base latency per collective call, 8.4 us, plus the ring
/// steps (2 (n - 1) for an all-reduce, n - 1 otherwise, 1 for a send), each at its link's
/// latency: NVLink 3.4 us, PCIe 5.7 us, 14.0 us for the steps that cross nodes. Ranks are
/// placed as Megatron-LM places them, tensor-parallel ranks adjacent, then data-parallel,
/// then pipeline: a group stays inside a
/// node (on NVLink, or PCIe for PCIe cards, at half the datasheet's both-ways figure per
/// direction) when its ranks fit in one, else it runs at the network's per-GPU bandwidth.
/// These are lower bounds: NCCL reaches about 75-90% of a link's bandwidth.
public struct CommunicationAnalysis: Sendable {
    /// The groups a collective runs on.
    public enum Group: String, Sendable, Hashable, Codable {
        case dp, tp, pp
    }

    /// How much of a collective's time the step waits for (README, "Step time").
    public enum Overlap: String, Sendable, Hashable, Codable {
        /// On the critical path: the next operator needs its result (tensor parallelism,
        /// pipeline sends, the step's own reductions).
        case exposed
        /// Runs during the backward of the micro-batch that makes it (data-parallel gradient
        /// buckets): only what exceeds that backward, and at least the last bucket, is exposed.
        case backward
        /// ZeRO-3's parameter gathers, prefetched during the forward (or backward) of the
        /// previous unit: only what exceeds that phase, and at least the first unit's, is exposed.
        case prefetchForward = "prefetch-forward"
        case prefetchBackward = "prefetch-backward"
    }

    /// One kind of collective on one group, over an optimizer step.
    public struct Collective: Sendable, Encodable {
        public var kind: OperatorCollective.Kind
        public var group: Group
        /// What it moves: "activations", "activation gradients", "gradients", "parameters".
        public var what: String
        /// Calls per step.
        public var count: Int
        /// Ranks in the group, and the nodes they span.
        public var ranks: Int
        public var nodes: Int
        /// Bytes of the buffers, all calls together.
        public var bufferBytes: Int
        /// Ring volume each GPU sends, all calls together.
        public var bytesPerGPU: Int
        /// All calls' time, and the part the step waits for (nil without a GPU's figures).
        public var time: Double?
        public var exposedTime: Double?
        public var overlap: Overlap
        /// The largest single call's time (for the overlap rule's last bucket).
        var largestCall: Double?
        /// Buffer bytes of the largest call.
        var largestBuffer: Int
        /// Rounds the calls come in (1 per step, or one per micro-batch).
        var rounds: Int
        /// Whether the calls come with every micro-batch (and so hold up the pipeline's
        /// every slot) rather than once per step.
        public var perMicroBatch: Bool { group == .tp && what != "gradients" || kind == .sendRecv || rounds > 1 }

        enum CodingKeys: String, CodingKey {
            case kind, group, what, count, ranks, nodes, overlap
            case bufferBytes = "buffer_bytes"
            case bytesPerGPU = "bytes_per_gpu"
            case time = "time_s"
            case exposedTime = "exposed_time_s"
        }
    }

    /// The interconnect a stage's collectives run over (from the GPU's profile).
    public struct Interconnect: Sendable, Hashable {
        /// Per direction, bytes/s.
        public var intraNode: Double
        public var network: Double
        public var intraNodeLatency: Double
        public var networkLatency: Double
        public var intraNodeLink: String

        /// NCCL's Ring/Simple latency per step (src/graph/tuning.cc, NCCL 2.28.9,
        /// hwLatencies): NVLink 3.4 us, PCIe 5.7 us, network 14.0 us (NCCL 2.7 had 9.6 us).
        public static let nvlinkLatency = 3.4e-6, pcieLatency = 5.7e-6, networkLatency = 14.0e-6
        /// NCCL's Ring/Simple base latency of each collective call (tuning.cc,
        /// baseLatencies): 8.4 us. A send/recv has none (it is not a ring collective).
        public static let callLatency = 8.4e-6

        public init(gpu: GPUProfile) {
            intraNode = gpu.intraNodeBandwidth / 2
            network = gpu.networkBandwidth
            intraNodeLink = gpu.intraNodeLink
            intraNodeLatency = gpu.intraNodeLink.hasPrefix("NVLink") ? Self.nvlinkLatency : Self.pcieLatency
            networkLatency = Self.networkLatency
        }
    }

    /// Data-parallel gradients go in buckets of 25 MiB (torch DistributedDataParallel's
    /// bucket_cap_mb default).
    public static let bucketBytes = 25 << 20

    public var collectives: [Collective]
    public var bytesPerGPU: Int { collectives.reduce(0) { $0 &+ $1.bytesPerGPU } }
    public var time: Double? { collectives.contains { $0.time == nil } ? nil : collectives.reduce(0) { $0 + ($1.time ?? 0) } }
    public var exposedTime: Double? {
        collectives.contains { $0.exposedTime == nil } ? nil : collectives.reduce(0) { $0 + ($1.exposedTime ?? 0) }
    }

    /// The stage's compute times the overlap rule hides communication behind, per micro-batch.
    public struct ComputeTimes: Sendable {
        public var forward: Double
        public var backward: Double
        public init(forward: Double, backward: Double) {
            self.forward = forward
            self.backward = backward
        }
    }

    public init(stage: ParallelAnalysis.Stage, in analysis: ParallelAnalysis, interconnect: Interconnect? = nil,
                compute: ComputeTimes? = nil) {
        let layout = analysis.layout
        let configuration = analysis.configuration
        let training = !configuration.inference
        let m = analysis.microBatches
        let graph = stage.part.graph
        let memory = stage.memory
        let types = memory.types
        let contexts = stage.costs.contexts(for: configuration, graph: graph)
        let gpusPerNode = max(1, layout.gpusPerNode)
        var builder = Accumulator(layout: layout, gpusPerNode: gpusPerNode, interconnect: interconnect)

        // Tensor parallelism: what the operators declare, per micro-batch, and again in the
        // recomputed forward of a checkpointed segment.
        var recomputed = Set<Int>()
        for range in memory.checkpoint.recomputed { recomputed.formUnion(range) }
        for (n, node) in graph.nodes.enumerated() {
            for call in node.op.collectives(contexts[n]) {
                if call.phase == .backward && !training { continue }
                let bytes = Count.product(call.shape).value &* types.saved(call.type, node: n, in: graph).bytes
                let times = call.phase == .forward && recomputed.contains(n) ? 2 * m : m
                builder.add(call.kind, .tp, call.phase == .forward ? "activations" : "activation gradients", bytes: bytes &* times, count: times,
                            ranks: layout.tensor, stride: 1, overlap: .exposed)
            }
        }
        // Pipeline: activations sent forward, their gradients sent back, per micro-batch.
        if layout.pipeline > 1 {
            let stride = layout.tensor * max(1, layout.data)
            let rank = analysis.tensorParallel.graph
            let rankTypes = RuntimeTypes(graph: rank, policy: configuration.precision)
            for t in stage.part.sent {
                builder.add(.sendRecv, .pp, "activations", bytes: rank.tensors[t].elements.value &* rankTypes.tensors[t].bytes &* m, count: m,
                            ranks: 2, stride: stride, overlap: .exposed)
            }
            if training {
                for t in stage.part.received where analysis.rankCosts.tensorNeedsGradient[t] {
                    builder.add(.sendRecv, .pp, "activation gradients", bytes: rank.tensors[t].elements.value &* rankTypes.tensors[t].bytes &* m,
                                count: m, ranks: 2, stride: stride, overlap: .exposed)
                }
            }
        }
        if training {
            let gradientType = types.parameterType.bytes
            let trainable = graph.parameters.filter { !$0.frozen }
            // Sequence parallelism: the norms' whole parameters saw a piece of the sequence
            // on each rank: their gradients are all-reduced over the tensor-parallel group.
            let partialNames = Set(analysis.tensorParallel.partialGradientParameters.map { analysis.tensorParallel.graph.parameters[$0].name })
            let partial = trainable.filter { partialNames.contains($0.name) }.reduce(0) { $0 &+ $1.elements.value &* gradientType }
            if partial > 0 {
                builder.add(.allReduce, .tp, "gradients", bytes: partial, count: 1, ranks: layout.tensor, stride: 1, overlap: .exposed)
            }
            // Parameters two stages share (a tied embedding and LM head): their gradients
            // are all-reduced between those stages once per step (Megatron's embedding group).
            let elsewhere = Set(analysis.stages.filter { $0.index != stage.index }.flatMap { $0.part.graph.parameters.map(\.name) })
            let shared = trainable.filter { elsewhere.contains($0.name) }.reduce(0) { $0 &+ $1.elements.value &* gradientType }
            if shared > 0 {
                builder.add(.allReduce, .pp, "gradients", bytes: shared, count: 1, ranks: 2, stride: layout.tensor * max(1, layout.data),
                            overlap: .exposed)
            }
            // Data parallelism.
            let d = max(1, layout.data)
            if d > 1 {
                let gradients = trainable.reduce(0) { $0 &+ $1.elements.value &* gradientType }
                let parameters = graph.parameters.reduce(0) { $0 &+ $1.elements.value &* types.parameterType.bytes }
                let buckets = { (bytes: Int) in max(1, (bytes + Self.bucketBytes - 1) / Self.bucketBytes) }
                switch layout.zero {
                case .none:
                    builder.add(.allReduce, .dp, "gradients", bytes: gradients, count: buckets(gradients), ranks: d, stride: layout.tensor,
                                overlap: .backward)
                case .optimizerState:
                    builder.add(.reduceScatter, .dp, "gradients", bytes: gradients, count: buckets(gradients), ranks: d, stride: layout.tensor,
                                overlap: .backward)
                    builder.add(.allGather, .dp, "parameters", bytes: parameters, count: buckets(parameters), ranks: d, stride: layout.tensor,
                                overlap: .exposed)
                case .gradients:
                    builder.add(.reduceScatter, .dp, "gradients", bytes: gradients &* m, count: buckets(gradients) &* m, ranks: d,
                                stride: layout.tensor, overlap: .backward, rounds: m)
                    builder.add(.allGather, .dp, "parameters", bytes: parameters, count: buckets(parameters), ranks: d, stride: layout.tensor,
                                overlap: .exposed)
                case .parameters:
                    let units = max(1, CheckpointUnits.topLevelSequence(of: graph).count)
                    builder.add(.allGather, .dp, "parameters", bytes: parameters &* m, count: units &* m, ranks: d, stride: layout.tensor,
                                overlap: .prefetchForward)
                    builder.add(.allGather, .dp, "parameters", bytes: parameters &* m, count: units &* m, ranks: d, stride: layout.tensor,
                                overlap: .prefetchBackward)
                    builder.add(.reduceScatter, .dp, "gradients", bytes: gradients &* m, count: units &* m, ranks: d, stride: layout.tensor,
                                overlap: .backward, rounds: m)
                }
            }
        }
        collectives = builder.collectives
        if let compute { applyOverlap(compute, microBatches: m) }
    }

    /// One forward pass of a tensor-parallel rank's graph in inference (`nnflops infer
    /// --tp`): the collectives its operators declare, on one node, all exposed.
    init(tensorParallelForward graph: Graph, costs: CostAnalysis, configuration: RunConfiguration, degree: Int,
         interconnect: Interconnect) {
        let types = costs.runtimeTypes(under: configuration.precision, graph: graph)
        let contexts = costs.contexts(for: configuration, graph: graph)
        let layout = ParallelLayout(gpus: degree, tensor: degree)
        var builder = Accumulator(layout: layout, gpusPerNode: max(degree, ParallelLayout.defaultGPUsPerNode), interconnect: interconnect)
        for (n, node) in graph.nodes.enumerated() {
            for call in node.op.collectives(contexts[n]) where call.phase == .forward {
                let bytes = Count.product(call.shape).value &* types.saved(call.type, node: n, in: graph).bytes
                builder.add(call.kind, .tp, "activations", bytes: bytes, count: 1, ranks: degree, stride: 1, overlap: .exposed)
            }
        }
        collectives = builder.collectives
        for i in collectives.indices { collectives[i].exposedTime = collectives[i].time }
    }

    /// The exposed part of each collective under its overlap rule.
    mutating func applyOverlap(_ compute: ComputeTimes, microBatches m: Int) {
        for i in collectives.indices {
            guard let time = collectives[i].time else { continue }
            let largest = collectives[i].largestCall ?? time
            switch collectives[i].overlap {
            case .exposed:
                collectives[i].exposedTime = time
            case .backward:
                // Once per step (ZeRO 0/1), or once per micro-batch (ZeRO-2/3): each round
                // against one micro-batch's backward.
                let rounds = max(1, collectives[i].rounds)
                let perRound = time / Double(rounds)
                collectives[i].exposedTime = Double(rounds) * max(largest, perRound - compute.backward)
            case .prefetchForward:
                let perRound = time / Double(m)
                collectives[i].exposedTime = Double(m) * max(largest, perRound - compute.forward)
            case .prefetchBackward:
                let perRound = time / Double(m)
                collectives[i].exposedTime = Double(m) * max(largest, perRound - compute.backward)
            }
            collectives[i].exposedTime = min(time, collectives[i].exposedTime ?? time)
        }
    }

    /// Builds the list, merging calls of one kind, group and purpose.
    struct Accumulator {
        let layout: ParallelLayout
        let gpusPerNode: Int
        let interconnect: Interconnect?
        var collectives: [Collective] = []

        /// Nodes a group of `ranks` ranks `stride` apart spans.
        func nodes(ranks: Int, stride: Int) -> Int {
            guard ranks > 1 else { return 1 }
            if stride >= gpusPerNode { return ranks }
            return max(1, (ranks * stride + gpusPerNode - 1) / gpusPerNode)
        }

        /// `bytes`: all `count` calls' buffers together.
        mutating func add(_ kind: OperatorCollective.Kind, _ group: Group, _ what: String, bytes perCallTotal: Int, count: Int,
                          ranks: Int, stride: Int, overlap: Overlap, rounds: Int = 1) {
            guard ranks > 1, count > 0, perCallTotal > 0 else { return }
            let nodes = nodes(ranks: ranks, stride: stride)
            let n = Double(ranks)
            let volumeFactor: Double
            let steps: Int, crossing: Int
            switch kind {
            case .allReduce:
                volumeFactor = 2 * (n - 1) / n
                steps = 2 * (ranks - 1)
                crossing = 2 * (nodes - 1)
            case .allGather, .reduceScatter:
                volumeFactor = (n - 1) / n
                steps = ranks - 1
                crossing = nodes - 1
            case .sendRecv:
                volumeFactor = 1
                steps = 1
                crossing = nodes > 1 ? 1 : 0
            }
            let volume = Int((Double(perCallTotal) * volumeFactor).rounded())
            var time: Double?
            var largest: Double?
            let perCall = Double(perCallTotal) / Double(count)
            if let interconnect {
                let bandwidth = nodes > 1 ? interconnect.network : interconnect.intraNode
                let base = kind == .sendRecv ? 0 : Interconnect.callLatency
                let latency = base + Double(steps - crossing) * interconnect.intraNodeLatency + Double(crossing) * interconnect.networkLatency
                time = Double(volume) / bandwidth + Double(count) * latency
                largest = perCall * volumeFactor / bandwidth + latency
            }
            if let i = collectives.firstIndex(where: { $0.kind == kind && $0.group == group && $0.what == what && $0.overlap == overlap }) {
                collectives[i].count += count
                collectives[i].bufferBytes &+= perCallTotal
                collectives[i].bytesPerGPU &+= volume
                if let time { collectives[i].time = (collectives[i].time ?? 0) + time }
                if let largest { collectives[i].largestCall = max(collectives[i].largestCall ?? 0, largest) }
                collectives[i].largestBuffer = max(collectives[i].largestBuffer, Int(perCall))
            } else {
                collectives.append(Collective(kind: kind, group: group, what: what, count: count, ranks: ranks, nodes: nodes,
                                              bufferBytes: perCallTotal, bytesPerGPU: volume, time: time, exposedTime: nil,
                                              overlap: overlap, largestCall: largest, largestBuffer: Int(perCall), rounds: rounds))
            }
        }
    }
}
