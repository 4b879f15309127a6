import Foundation
import ModeGateway

exit(await GatewayCommand.main())
