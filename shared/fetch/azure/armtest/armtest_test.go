package armtest

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestMergePatch(t *testing.T) {
	cases := []struct {
		name                string
		target, patch, want map[string]any
	}{
		{"set nested", map[string]any{"properties": map[string]any{"a": 1.0, "b": true}}, map[string]any{"properties": map[string]any{"b": false}},
			map[string]any{"properties": map[string]any{"a": 1.0, "b": false}}},
		{"null deletes", map[string]any{"a": 1.0, "b": 2.0}, map[string]any{"b": nil}, map[string]any{"a": 1.0}},
		{"lists are replaced", map[string]any{"l": []any{1.0, 2.0}}, map[string]any{"l": []any{3.0}}, map[string]any{"l": []any{3.0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := With(tc.target, tc.patch); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("With = %v, want %v", got, tc.want)
			}
		})
	}
}

func do(t *testing.T, s *Server, method, path, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	const nsg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
	s := Start(t)
	s.Put(nsg, map[string]any{"properties": map[string]any{"securityRules": []any{
		map[string]any{"id": nsg + "/securityRules/a"}, map[string]any{"id": nsg + "/securityRules/b"}}}})
	s.PutProvider("Microsoft.Network", map[string]any{"namespace": "Microsoft.Network"})
	bearer := "Bearer " + Token
	cases := []struct {
		name, method, path, auth string
		status                   int
		body                     string
	}{
		{"no token", "GET", nsg + "?api-version=1", "", 401, "AuthenticationFailed"},
		{"no api-version", "GET", nsg, bearer, 400, "MissingApiVersionParameter"},
		{"get, any casing", "GET", strings.ToUpper(nsg) + "?api-version=1", bearer, 200, "securityRules/a"},
		{"missing", "GET", nsg + "x?api-version=1", bearer, 404, "ResourceNotFound"},
		{"provider", "GET", "/subscriptions/s/providers/microsoft.network?api-version=1", bearer, 200, "Microsoft.Network"},
		{"delete an embedded child", "DELETE", nsg + "/securityRules/a?api-version=1", bearer, 200, ""},
		{"the parent lost it", "GET", nsg + "?api-version=1", bearer, 200, `"securityRules":[{"id":"` + nsg + `/securityRules/b"}]`},
		{"delete it again", "DELETE", nsg + "/securityRules/a?api-version=1", bearer, 204, ""},
	}
	for _, tc := range cases {
		status, body := do(t, s, tc.method, tc.path, tc.auth)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %s, want %d containing %s", tc.name, status, body, tc.status, tc.body)
		}
	}
	if n := len(s.Requests()); n != len(cases) {
		t.Errorf("%d requests recorded, want %d", n, len(cases))
	}
}
