package keys

// Ready reports whether the signing keys are loaded and every algorithm
// the provider signs with has a current key: the signer part of the
// management listener's readiness check.
func (k *Keys) Ready() bool {
	set := k.set.Load()
	if set == nil || len(set.current) == 0 {
		return false
	}
	for _, alg := range k.algs {
		if _, ok := set.current[alg]; !ok {
			return false
		}
	}
	return true
}
