package auth

import "github.com/meshperf/meshperf/store/authstore"

// The records and stores of team mode live in store/authstore, a public
// package, because the public store/sqlstore implements them; these
// aliases keep them under the names this package's callers use.
type (
	User              = authstore.User
	RefreshToken      = authstore.RefreshToken
	APIToken          = authstore.APIToken
	Store             = authstore.Store
	UserStore         = authstore.UserStore
	RefreshTokenStore = authstore.RefreshTokenStore
	APITokenStore     = authstore.APITokenStore
)
