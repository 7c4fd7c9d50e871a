//go:build ignore

// gen_blocklist writes common-passwords.txt, the blocklist CheckPolicy
// embeds (NIST SP 800-63B-4 §3.1.1.2: values "commonly used, expected, or
// compromised"; checklist S13). It needs no network: the seeds below are
// the perennial leaders of the public lists (SecLists' 10k-most-common and
// the rockyou top, NordPass and SplashData yearly top lists, keyboard
// walks), and the generator adds the variants people make of them (digit
// and symbol suffixes, doubling, and years for the leaders). Entries are
// lower case, at least 8 characters; CheckPolicy compares them
// case-insensitively. About 8 000 entries, 100 KB.
//
// Run it with `go generate ./storage/password`.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// top are the leaders of every list: each also gets years and the
// common suffixes.
const top = `
123456 123456789 12345678 12345 1234567 1234567890 111111 123123 000000 654321 666666 121212 112233
qwerty qwerty123 qwertyuiop asdfgh asdfghjkl zxcvbnm azerty qazwsx 1q2w3e4r 1qaz2wsx zaq12wsx
password passw0rd p@ssw0rd p@ssword pa55word passwort iloveyou princess abc123 letmein welcome
monkey dragon football baseball master shadow sunshine superman batman trustno1 freedom whatever
admin administrator root changeme secret login access computer internet google michael jordan
charlie hello summer winter soccer hockey killer hunter ranger buster thomas daniel jennifer jessica
ashley flower purple pokemon naruto starwars chelsea arsenal liverpool samsung cookie cheese tigger
angel lovely loveme forever mypassword pass test guest user
`

// more are further common passwords and bases: they get the suffixes
// but not the years.
const more = `
7777777 888888 987654321 123321 159753 147258369 11111111 00000000 1q2w3e4r5t 1q2w3e 1qaz2wsx3edc
zaq1zaq1 qwert asdf1234 zxcvbn qazwsxedc motdepasse contrasena senha parola wachtwoord salasana
jelszo haslo heslo lozinka rockyou abcdef abcd1234 basketball toor tester testing default passport
facebook twitter linkedin instagram youtube yahoo hotmail outlook gmail microsoft windows apple
nokia iphone android pikachu startrek matrix hunter2 jordan23 jennifer andrew joshua matthew anthony
william robert michelle nicole elizabeth taylor hannah jasmine sophie olivia emily manchester
barcelona realmadrid juventus ferrari mercedes porsche corvette mustang harley yamaha chocolate
banana orange cherry pepper ginger autumn spring silver golden diamond iloveu lovers love123 mylove
babygirl angels beautiful prince pussy fuckyou fuckoff asshole bitch sexy hottie snoopy scooby
garfield mickey minnie donald disney spiderman ironman avengers marvel minecraft fortnite roblox
zelda mario nintendo playstation xbox360 gamer 696969 q1w2e3r4 q1w2e3r4t5 a1b2c3d4 aa123456 qweasd
qweasdzxc qazxsw 1a2b3c4d asdasd zxczxc qweqwe 147258 159357 123654 741852963 789456123 456789
987654 5201314 woaini 88888888 99999999 12341234 11223344 abcabc helloworld mypass passwd
nothing something anything everything everyone nobody somebody unknown private public secure
security protected confidential company business office manager support service system server
network database oracle mysql postgres postgresql monban oidc openid oauth keycloak letmeinplease
opensesame youshallnotpass jesus blessed blessing faith heaven
`

// long are common passwords and passphrases of 15 characters or more,
// taken as they are (spaces included).
const long = `
correcthorsebatterystaple
correct horse battery staple
thequickbrownfox
thequickbrownfoxjumpsoverthelazydog
the quick brown fox jumps over the lazy dog
iloveyouforever
iloveyousomuch
iloveyoubabygirl
mypasswordispassword
passwordispassword
thisismypassword
thisisapassword
ihatepasswords
donttellanyone
iamthebestintheworld
jesuslovesme123
welcometothejungle
qwertyuiopasdfghjklzxcvbnm
asdfghjklqwertyuiop
zxcvbnmasdfghjkl
qazwsxedcrfvtgbyhn
1qaz2wsx3edc4rfv
1qaz2wsx3edc4rfv5tgb
zaq12wsxcde34rfv
qwerasdfzxcv1234
1234qwerasdfzxcv
0987654321qwerty
1234567890qwerty
qwerty1234567890
abcdefghijklmnopqrstuvwxyz
abcdefghijklmnop
zyxwvutsrqponmlkjihgfedcba
administratoradministrator
changemechangeme
letmeinletmeinletmein
passwordpasswordpassword
`

// suffixes are what people add to a base word.
var suffixes = []string{
	"", "1", "12", "123", "1234", "12345", "123456", "123456789", "!", "1!", "123!", "01", "69",
}

func main() {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if utf8.RuneCountInString(s) >= 8 && len(s) <= 128 {
			set[s] = true
		}
	}
	for _, w := range strings.Fields(top + more) {
		for _, s := range suffixes {
			add(w + s)
		}
		add(w + w)
		add(w + w + "1")
		add(w + w + "123")
	}
	for _, w := range strings.Fields(top) {
		for y := 1990; y <= 2030; y++ {
			add(fmt.Sprint(w, y))
		}
	}
	for _, line := range strings.Split(long, "\n") {
		add(line)
	}
	// Digit runs and repeated digits of every practical length.
	for n := 6; n <= 20; n++ {
		run := ""
		for i := 1; len(run) < n; i++ {
			run += fmt.Sprint(i % 10)
		}
		add(run)
		for d := '0'; d <= '9'; d++ {
			add(strings.Repeat(string(d), n))
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	var b strings.Builder
	b.WriteString("# Common passwords, one per line, lower case (generated by gen_blocklist.go; do not edit).\n")
	for _, s := range out {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := os.WriteFile("common-passwords.txt", []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d entries\n", len(out))
}
