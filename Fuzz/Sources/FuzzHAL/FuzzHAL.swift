import CFuzzer
import GatewayFuzzing

/// One input, through `FuzzChecks.halRewriter`; a failure traps, so libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func FuzzHALTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let failure = FuzzChecks.halRewriter(input) { fatalError(failure) }
    return 0
}

/// The entry SwiftPM links the executable's `main` to (the targets are built with
/// -parse-as-library, so Swift makes none): libFuzzer's driver. Whichever `main` the linker
/// keeps, this one or libFuzzer's own, runs the same driver over the same check.
@_cdecl("FuzzHAL_main")
public func FuzzHALMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in FuzzHALTestOneInput(data, size) }
}
