package serve

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPI is the OpenAPI 3 description of the server's endpoints; a test
// checks that it lists exactly the routes the server serves.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	w.Write(openAPI)
}
