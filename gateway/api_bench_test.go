package gateway_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"mxdesk/api"
	"mxdesk/router"
)

// BenchmarkAPISessionList measures GET /api/v1/sessions (a page of 50,
// newest first) on a store of 1,000 sessions, with parallel clients:
// requests per second in docs/performance.md.
func BenchmarkAPISessionList(b *testing.B) {
	g := apiDesk(b, nil, "[api]\nrequests_per_minute = 100000000\n")
	c := newAPIClient(b, g, "bench", router.RoleIntegrator)
	for i := range 1000 {
		c.call("POST", "/api/v1/requests", api.RequestAdd{From: "crm@customer.test", To: "Support", Subject: fmt.Sprintf("case %d", i),
			URI: fmt.Sprintf("https://crm.example.test/case/%d", i)}, http.StatusCreated, nil)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.call("GET", "/api/v1/sessions?limit=50", nil, http.StatusOK, nil)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkAPIRequestAdd measures POST /api/v1/requests, each a new item
// (a new session, filed and fsynced), with parallel clients.
func BenchmarkAPIRequestAdd(b *testing.B) {
	g := apiDesk(b, nil, "[api]\nrequests_per_minute = 100000000\n")
	c := newAPIClient(b, g, "bench", router.RoleIntegrator)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			c.call("POST", "/api/v1/requests", api.RequestAdd{From: "crm@customer.test", To: "Support", Subject: fmt.Sprintf("case %d", i),
				URI: fmt.Sprintf("https://crm.example.test/case/%d", i)}, http.StatusCreated, nil)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
