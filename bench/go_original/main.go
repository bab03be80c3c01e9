// The Go original that ibdevserver ports, kept to its behaviour, as the benchmark's
// peer: every request gets /proc/1/status as text/plain on port 9999, or, when the
// file cannot be read, the text "error occurred" (status 200, as the original).
package main

import (
	"log"
	"net/http"
	"os"
)

type handler struct{}

func (handler) ServeHTTP(writer http.ResponseWriter, _ *http.Request) {
	data, err := os.ReadFile("/proc/1/status")
	writer.Header().Set("Content-Type", "text/plain")
	if err != nil {
		log.Print(err)
		data = []byte("error occurred")
	}
	if _, err := writer.Write(data); err != nil {
		log.Print(err)
	}
}

func main() {
	server := http.Server{Addr: "0.0.0.0:9999", Handler: handler{}}
	if err := server.ListenAndServe(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
