/// The phase of a training step that work is counted in: the split of `OperatorCost`
/// (forward, the two halves of backward), forward work re-run by activation
/// checkpointing, and the optimizer step. The one spelling of phases in every JSON
/// schema (`nnflops.roofline/2`, `nnflops.validate/1`): snake_case, like the keys.
public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
    case forward
    case inputGradient = "input_gradient"
    case weightGradient = "weight_gradient"
    /// A checkpointed segment's forward, run again during backward.
    case recompute
    case optimizer
}
