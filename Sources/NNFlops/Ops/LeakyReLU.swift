/// `leaky_relu(x, slope=0.01, inplace=false)`: x where x > 0, slope * x elsewhere (torch.nn.LeakyReLU).
///
/// Reference algorithm, n elements: forward one compare and one multiply per element,
/// both executed for every element before the select (2n); input gradient
/// dX = dY where x > 0, else dY * slope: one compare and one multiply (2n).
/// MACs: 0. Saved for backward: the input.
struct LeakyReLU: ElementwiseActivation {
    public static let kind = "leaky_relu"
    public static let summary = "leaky rectified linear unit"
    static let extraArguments: [ArgumentSpec] = [.defaulted("slope", .float, .float(0.01))]
    static let hasInPlaceVariant = true
    /// leaky_relu_backward keeps the input (in place: the result, which aliases it).
    static let backwardReads = ElementwiseBackwardInput.inputOrResult

    let input: TensorType
    let inplace: Bool
    let slope: Double

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) throws {
        self.input = input
        self.inplace = inplace
        slope = try arguments.float("slope")
        guard slope.isFinite else { throw OperatorError("slope must be a finite number, got \(slope)", argument: "slope") }
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 2, inputGradient: 2) }

    public var detail: String { [slope == 0.01 ? "" : "slope \(slope)", inplace ? "inplace" : ""].filter { !$0.isEmpty }.joined(separator: " ") }
}
