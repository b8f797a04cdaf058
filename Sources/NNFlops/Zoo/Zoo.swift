/// The built-in model zoo: the specs in `specs/`, embedded at build time.
public enum Zoo {
    /// Names and sources of the embedded specs, sorted by name.
    public static var models: [(name: String, source: String)] { EmbeddedZoo.specs }

    public static func source(named name: String) -> String? {
        EmbeddedZoo.specs.first { $0.name == name }?.source
    }
}
