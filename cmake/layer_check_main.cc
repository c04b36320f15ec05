// The program every module's layer check links: it does nothing. What is checked is the link itself: the module's
// objects, all of them, with only the libraries the module declares it depends on (cmake/DialModules.cmake).
int main() { return 0; }
