/// The built-in model zoo: the specs in `specs/`, embedded at build time.
public enum Zoo {
    /// Names and sources of the embedded specs, in natural order: numbers inside names
    /// compare as numbers (resnet18, resnet34, resnet50, resnet101, resnet152), and a
    /// name comes before its longer variants (gpt2, gpt2-xl).
    public static var models: [(name: String, source: String)] {
        EmbeddedZoo.specs.sorted { naturallyPrecedes($0.name, $1.name) }
    }

    public static func source(named name: String) -> String? {
        EmbeddedZoo.specs.first { $0.name == name }?.source
    }

    /// Natural order of two names: runs of digits compare by value, the rest by character.
    static func naturallyPrecedes(_ a: String, _ b: String) -> Bool {
        func chunks(_ s: String) -> [(text: String, number: Int?)] {
            var result: [(String, Int?)] = []
            var current = "", digits = false
            for c in s {
                if !current.isEmpty && c.isASCII && c.isNumber != digits {
                    result.append((current, digits ? Int(current) : nil))
                    current = ""
                }
                digits = c.isASCII && c.isNumber
                current.append(c)
            }
            if !current.isEmpty { result.append((current, digits ? Int(current) : nil)) }
            return result
        }
        let x = chunks(a), y = chunks(b)
        for (p, q) in zip(x, y) {
            if let m = p.number, let n = q.number {
                if m != n { return m < n }
            } else if p.text != q.text {
                return p.text < q.text
            }
        }
        return x.count < y.count
    }
}
