module ibdevserver/bench/go_original

go 1.19
