import CFuzzer
import GatewayFuzzing

/// One input, through `FuzzChecks.queryParser`; a failure traps, so libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func FuzzQueryTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let failure = FuzzChecks.queryParser(input) { fatalError(failure) }
    return 0
}

/// The entry SwiftPM links the executable's `main` to (the targets are built with
/// -parse-as-library, so Swift makes none): libFuzzer's driver. Whichever `main` the linker
/// keeps, this one or libFuzzer's own, runs the same driver over the same check.
@_cdecl("FuzzQuery_main")
public func FuzzQueryMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in FuzzQueryTestOneInput(data, size) }
}
