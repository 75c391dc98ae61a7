#define _GNU_SOURCE
#include "trove_test_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

int trove_test_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
                     int input, int output, int error, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    int sources[3] = { input, output, error };
    for (int target = 0; target < 3 && result == 0; target++) {
        result = posix_spawn_file_actions_adddup2(&actions, sources[target], target);
    }
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (result == 0 && directory != NULL) result = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (result == 0) result = posix_spawn(pid, path, &actions, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int trove_test_open_pseudo_terminal(int *controller, int *terminal) {
    int main_side = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (main_side < 0) return errno;
    char name[128];
    if (grantpt(main_side) != 0 || unlockpt(main_side) != 0 || ptsname_r(main_side, name, sizeof name) != 0) {
        int failure = errno;
        close(main_side);
        return failure;
    }
    int other_side = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (other_side < 0) {
        int failure = errno;
        close(main_side);
        return failure;
    }
    struct termios settings;
    if (tcgetattr(other_side, &settings) == 0) {
        cfmakeraw(&settings);
        tcsetattr(other_side, TCSANOW, &settings);
    }
    *controller = main_side;
    *terminal = other_side;
    return 0;
}
