import Foundation
import ModeSimulator

exit(await SimulatorCommand.main())
