import Foundation
import ModeGateway
import NIOCore
import NIOPosix

// Run Swift concurrency on NIO's event loops: a request's handler then runs on the thread that
// reads and writes its socket, instead of hopping to another pool and back.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
exit(await GatewayCommand.main())
