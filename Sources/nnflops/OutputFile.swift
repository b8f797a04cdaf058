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
import NNFlops

/// A file a command writes besides standard output (`roofline --svg`, `plan --emit-spec`).
///
/// The file is written through its path: an existing regular file (or a symlink to one)
/// is truncated and rewritten in place, a missing one is created. Nothing is written to
/// a temporary file and renamed over the path, so a symlink stays a symlink and a device
/// node is never replaced by a regular file. A path that names a directory, a device, a
/// FIFO or a socket, or that cannot be opened, is a usage error (exit 2) in plain words.
struct OutputFile {
    let path: String
    /// What the file holds, for the confirmation on stderr ("roofline chart").
    let role: String

    /// Refuses a path that exists but is not a regular file, before any work is done.
    func checkWritable() throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            // A new file: its directory must exist and be writable.
            let directory = PathText.deletingLastComponent(of: path)
            let parent = directory.isEmpty ? "." : directory
            var parentInfo = stat()
            guard stat(parent, &parentInfo) == 0 else { throw failure("the directory '\(parent)' does not exist") }
            guard (parentInfo.st_mode & S_IFMT) == S_IFDIR else { throw failure("'\(parent)' is not a directory") }
            guard access(parent, W_OK) == 0 else { throw failure("the directory '\(parent)' is not writable") }
            return
        }
        if let problem = Self.problem(mode: info.st_mode) { throw failure(problem) }
    }

    /// Writes `text`, then confirms it on stderr.
    func write(_ text: String) throws {
        try checkWritable()
        // O_NONBLOCK: opening a FIFO must not wait for a reader; the type is checked on
        // the open descriptor before anything is truncated.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw failure(Self.reason(errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure(Self.reason(errno)) }
        if let problem = Self.problem(mode: info.st_mode) { throw failure(problem) }
        guard ftruncate(descriptor, 0) == 0 else { throw failure(Self.reason(errno)) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw failure(Self.reason(errno))
            }
            written += n
        }
        writeStandardError("wrote \(role) to \(path) (\(bytes.count) bytes)\n")
    }

    func failure(_ reason: String) -> NNFlopsError { NNFlopsError("cannot write '\(path)': \(reason)") }

    /// Why a file of this type cannot be written as an output file, nil for a regular file.
    static func problem(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "it is a directory"
        case S_IFCHR, S_IFBLK: "it is a device, not a regular file"
        case S_IFIFO: "it is a FIFO, not a regular file"
        case S_IFSOCK: "it is a socket, not a regular file"
        default: "it is not a regular file"
        }
    }

    /// `strerror`'s words, lower-cased to read as part of the sentence.
    static func reason(_ code: Int32) -> String {
        switch code {
        case EACCES, EPERM: "permission denied"
        case ENOENT: "the directory does not exist"
        case EISDIR: "it is a directory"
        case EROFS: "the file system is read-only"
        case ENOSPC: "no space left on the device"
        case ENOTDIR: "a component of the path is not a directory"
        default:
            String(cString: strerror(code)).lowercased()
        }
    }
}
