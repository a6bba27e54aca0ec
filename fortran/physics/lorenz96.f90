!> Two-scale Lorenz 96 model and the one-scale coarse model with a sub-grid term.
!>
!> Convention (Wilks 2005; Arnold et al. 2013), indices cyclic:
!>
!>   dX_k/dt     = -X_{k-1} (X_{k-2} - X_{k+1}) - d X_k + F - (h c / b) sum_j Y_{j,k}
!>   dY_{j,k}/dt = -c b Y_{j+1,k} (Y_{j+2,k} - Y_{j-1,k}) - d c Y_{j,k} + (h c / b) X_k
!>
!> with the damping factor d = 1 for the physical model (d = 0 switches the linear
!> damping off). Y is ONE ring of K*J variables (Y_{J+1,k} = Y_{1,k+1}), stored as
!> y(J*K) with Y_{j,k} at index (k-1)*J + j. The sub-grid tendency is
!> U_k = (h c / b) sum_j Y_{j,k}; the coarse model is
!>
!>   dX_k/dt = -X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - U_k.
!>
!> The public routines form a facade for f90wrap (explicit-shape real(c_double) and
!> integer(c_int) arguments, no pointers, no allocatable results); they are also meant
!> to be called directly from Fortran (the coupled program calls l96_coarse_rk4_step
!> once per time step). The routines do not check their arguments: the Python wrapper
!> (climlearn.testbeds.lorenz96.physics) validates sizes and values before calling.
!> Batched arrays are x(nk, nens): member m is the contiguous column x(:, m).
module l96_physics
  use, intrinsic :: iso_c_binding, only: c_double, c_int, c_int64_t
  implicit none
  private

  public :: l96_two_scale_tendency, l96_subgrid_tendency, l96_two_scale_rk4_step, &
            l96_two_scale_run, l96_coarse_tendency, l96_coarse_rk4_step, &
            l96_coarse_poly_run, l96_normal_fill
  !> The argument kinds of the public routines, re-exported so that generated wrappers
  !> (f90wrap) that only `use l96_physics` can declare matching arguments.
  public :: c_double, c_int

  integer, parameter :: dp = c_double
  integer, parameter :: i8 = c_int64_t

  ! MRG32k3a (L'Ecuyer 1999) constants: all products fit exactly in 64-bit integers.
  integer(i8), parameter :: mrg_m1 = 4294967087_i8, mrg_m2 = 4294944443_i8
  integer(i8), parameter :: mrg_a12 = 1403580_i8, mrg_a13 = 810728_i8
  integer(i8), parameter :: mrg_a21 = 527612_i8, mrg_a23 = 1370589_i8
  real(dp), parameter :: two_pi = 6.283185307179586476925286766559_dp

contains

  ! ---- kernels (private, reusable) -----------------------------------------------

  !> Advection of a ring of n >= 4 variables, -z_{i-1} (z_{i-2} - z_{i+1}) in the
  !> direction of increasing index (the X term of Lorenz 96).
  pure subroutine ring_advection_back(n, z, adv)
    integer, intent(in) :: n
    real(dp), intent(in) :: z(n)
    real(dp), intent(out) :: adv(n)
    integer :: i
    adv(1) = -z(n) * (z(n - 1) - z(2))
    adv(2) = -z(1) * (z(n) - z(3))
    do i = 3, n - 1
      adv(i) = -z(i - 1) * (z(i - 2) - z(i + 1))
    end do
    adv(n) = -z(n - 1) * (z(n - 2) - z(1))
  end subroutine ring_advection_back

  !> Advection of a ring of n >= 4 variables, -z_{i+1} (z_{i+2} - z_{i-1}) (the Y term
  !> of Lorenz 96, before the factor c b).
  pure subroutine ring_advection_fwd(n, z, adv)
    integer, intent(in) :: n
    real(dp), intent(in) :: z(n)
    real(dp), intent(out) :: adv(n)
    integer :: i
    adv(1) = -z(2) * (z(3) - z(n))
    do i = 2, n - 2
      adv(i) = -z(i + 1) * (z(i + 2) - z(i - 1))
    end do
    adv(n - 1) = -z(n) * (z(1) - z(n - 2))
    adv(n) = -z(1) * (z(2) - z(n - 1))
  end subroutine ring_advection_fwd

  !> Sum of Y over each block of nj: s(k) = sum_j Y_{j,k}.
  pure subroutine block_sums(nk, nj, y, s)
    integer, intent(in) :: nk, nj
    real(dp), intent(in) :: y(nj, nk)
    real(dp), intent(out) :: s(nk)
    integer :: k
    do k = 1, nk
      s(k) = sum(y(:, k))
    end do
  end subroutine block_sums

  !> Two-scale tendencies for integer sizes of the default kind (the RK4 workhorse).
  pure subroutine two_scale_tend(nk, nj, x, y, forcing, h, b, c, damping, dxdt, dydt)
    integer, intent(in) :: nk, nj
    real(dp), intent(in) :: x(nk), y(nj * nk), forcing, h, b, c, damping
    real(dp), intent(out) :: dxdt(nk), dydt(nj * nk)
    real(dp) :: s(nk), hcb
    integer :: k, lo
    hcb = h * c / b
    call block_sums(nk, nj, y, s)
    call ring_advection_back(nk, x, dxdt)
    dxdt = dxdt - damping * x + forcing - hcb * s
    call ring_advection_fwd(nj * nk, y, dydt)
    do k = 1, nk
      lo = (k - 1) * nj
      dydt(lo + 1:lo + nj) = c * b * dydt(lo + 1:lo + nj) - damping * c * y(lo + 1:lo + nj) &
                             + hcb * x(k)
    end do
  end subroutine two_scale_tend

  !> One RK4 step of the two-scale model (damping 1), x and y updated in place.
  pure subroutine two_scale_step(nk, nj, x, y, forcing, h, b, c, dt)
    integer, intent(in) :: nk, nj
    real(dp), intent(inout) :: x(nk), y(nj * nk)
    real(dp), intent(in) :: forcing, h, b, c, dt
    real(dp), dimension(nk) :: kx1, kx2, kx3, kx4
    real(dp), dimension(nj * nk) :: ky1, ky2, ky3, ky4
    call two_scale_tend(nk, nj, x, y, forcing, h, b, c, 1.0_dp, kx1, ky1)
    call two_scale_tend(nk, nj, x + 0.5_dp * dt * kx1, y + 0.5_dp * dt * ky1, &
                        forcing, h, b, c, 1.0_dp, kx2, ky2)
    call two_scale_tend(nk, nj, x + 0.5_dp * dt * kx2, y + 0.5_dp * dt * ky2, &
                        forcing, h, b, c, 1.0_dp, kx3, ky3)
    call two_scale_tend(nk, nj, x + dt * kx3, y + dt * ky3, forcing, h, b, c, 1.0_dp, &
                        kx4, ky4)
    x = x + (dt / 6.0_dp) * (kx1 + 2.0_dp * (kx2 + kx3) + kx4)
    y = y + (dt / 6.0_dp) * (ky1 + 2.0_dp * (ky2 + ky3) + ky4)
  end subroutine two_scale_step

  !> Coarse tendency of one member: advection - X + F - U.
  pure subroutine coarse_tend(nk, x, forcing, u, dxdt)
    integer, intent(in) :: nk
    real(dp), intent(in) :: x(nk), forcing, u(nk)
    real(dp), intent(out) :: dxdt(nk)
    call ring_advection_back(nk, x, dxdt)
    dxdt = dxdt - x + forcing - u
  end subroutine coarse_tend

  !> One RK4 step of one member of the coarse model, u fixed over the step.
  pure subroutine coarse_step(nk, x, forcing, u, dt)
    integer, intent(in) :: nk
    real(dp), intent(inout) :: x(nk)
    real(dp), intent(in) :: forcing, u(nk), dt
    real(dp), dimension(nk) :: k1, k2, k3, k4
    call coarse_tend(nk, x, forcing, u, k1)
    call coarse_tend(nk, x + 0.5_dp * dt * k1, forcing, u, k2)
    call coarse_tend(nk, x + 0.5_dp * dt * k2, forcing, u, k3)
    call coarse_tend(nk, x + dt * k3, forcing, u, k4)
    x = x + (dt / 6.0_dp) * (k1 + 2.0_dp * (k2 + k3) + k4)
  end subroutine coarse_step

  !> Polynomial p = sum_i coef(i) z^(i-1), elementwise over z(n), by Horner's rule.
  pure subroutine poly_eval(ncoef, coef, n, z, p)
    integer, intent(in) :: ncoef, n
    real(dp), intent(in) :: coef(ncoef), z(n)
    real(dp), intent(out) :: p(n)
    integer :: i
    p = 0.0_dp
    do i = ncoef, 1, -1
      p = p * z + coef(i)
    end do
  end subroutine poly_eval

  ! ---- random numbers: MRG32k3a + Box-Muller (deterministic for a seed) -----------

  !> Initial MRG32k3a state from an integer seed (any value, negative included).
  pure subroutine rng_seed(seed, state)
    integer(i8), intent(in) :: seed
    integer(i8), intent(out) :: state(6)
    integer(i8) :: v
    real(dp) :: dummy
    integer :: i
    ! Park-Miller minimal standard generator spreads the seed over the six words.
    v = modulo(seed, 2147483646_i8) + 1_i8
    do i = 1, 6
      v = modulo(16807_i8 * v, 2147483647_i8)
      v = modulo(16807_i8 * v, 2147483647_i8)
      state(i) = v + 1_i8      ! in [2, 2^31): valid for both components, never zero
    end do
    ! Discard a few outputs so nearby seeds decorrelate.
    do i = 1, 32
      call rng_uniform(state, dummy)
    end do
  end subroutine rng_seed

  !> Next uniform number in (0, 1) from MRG32k3a.
  pure subroutine rng_uniform(state, r)
    integer(i8), intent(inout) :: state(6)
    real(dp), intent(out) :: r
    integer(i8) :: p1, p2, z
    p1 = modulo(mrg_a12 * state(2) - mrg_a13 * state(1), mrg_m1)
    state(1) = state(2)
    state(2) = state(3)
    state(3) = p1
    p2 = modulo(mrg_a21 * state(6) - mrg_a23 * state(4), mrg_m2)
    state(4) = state(5)
    state(5) = state(6)
    state(6) = p2
    z = modulo(p1 - p2, mrg_m1)
    if (z == 0) z = mrg_m1
    r = real(z, dp) / real(mrg_m1 + 1_i8, dp)
  end subroutine rng_uniform

  !> Fill z(n) with independent standard normal numbers (Box-Muller, both values used).
  pure subroutine rng_normal(state, n, z)
    integer(i8), intent(inout) :: state(6)
    integer, intent(in) :: n
    real(dp), intent(out) :: z(n)
    real(dp) :: u1, u2, rad
    integer :: i
    do i = 1, n, 2
      call rng_uniform(state, u1)
      call rng_uniform(state, u2)
      rad = sqrt(-2.0_dp * log(u1))
      z(i) = rad * cos(two_pi * u2)
      if (i < n) z(i + 1) = rad * sin(two_pi * u2)
    end do
  end subroutine rng_normal

  ! ---- public facade ---------------------------------------------------------------

  !> Tendencies of the two-scale model. damping multiplies the linear terms -X and -cY
  !> (1: the physical model; 0: switched off).
  !> x(nk), y(nj*nk) with Y_{j,k} at (k-1)*nj + j; outputs dxdt(nk), dydt(nj*nk).
  !> Needs nk >= 4 and nj*nk >= 4.
  subroutine l96_two_scale_tendency(nk, nj, x, y, forcing, h, b, c, damping, dxdt, dydt)
    integer(c_int), intent(in) :: nk, nj
    real(c_double), intent(in) :: x(nk), y(nj * nk)
    real(c_double), intent(in) :: forcing, h, b, c, damping
    real(c_double), intent(out) :: dxdt(nk), dydt(nj * nk)
    call two_scale_tend(int(nk), int(nj), x, y, forcing, h, b, c, damping, dxdt, dydt)
  end subroutine l96_two_scale_tendency

  !> Sub-grid tendency U_k = (h c / b) sum_j Y_{j,k} of the two-scale model.
  subroutine l96_subgrid_tendency(nk, nj, y, h, b, c, u)
    integer(c_int), intent(in) :: nk, nj
    real(c_double), intent(in) :: y(nj * nk), h, b, c
    real(c_double), intent(out) :: u(nk)
    call block_sums(int(nk), int(nj), y, u)
    u = (h * c / b) * u
  end subroutine l96_subgrid_tendency

  !> One RK4 step of the two-scale model (damping 1); x(nk), y(nj*nk) updated in place.
  subroutine l96_two_scale_rk4_step(nk, nj, x, y, forcing, h, b, c, dt)
    integer(c_int), intent(in) :: nk, nj
    real(c_double), intent(inout) :: x(nk), y(nj * nk)
    real(c_double), intent(in) :: forcing, h, b, c, dt
    call two_scale_step(int(nk), int(nj), x, y, forcing, h, b, c, dt)
  end subroutine l96_two_scale_rk4_step

  !> Integrate the two-scale model with RK4 for nsteps steps of dt, x and y in place.
  !> After steps every, 2*every, ..., sample n (n <= nout) stores x in xs(:, n), y in
  !> ys(:, n) and U in us(:, n). nout should be nsteps / every (extra samples are not
  !> stored; unused columns are left untouched).
  subroutine l96_two_scale_run(nk, nj, x, y, forcing, h, b, c, dt, nsteps, every, nout, &
                               xs, ys, us)
    integer(c_int), intent(in) :: nk, nj, nsteps, every, nout
    real(c_double), intent(inout) :: x(nk), y(nj * nk)
    real(c_double), intent(in) :: forcing, h, b, c, dt
    real(c_double), intent(inout) :: xs(nk, nout), ys(nj * nk, nout), us(nk, nout)
    integer :: step, n
    n = 0
    do step = 1, nsteps
      call two_scale_step(int(nk), int(nj), x, y, forcing, h, b, c, dt)
      if (mod(step, every) == 0) then
        n = n + 1
        if (n <= nout) then
          xs(:, n) = x
          ys(:, n) = y
          call block_sums(int(nk), int(nj), y, us(:, n))
          us(:, n) = (h * c / b) * us(:, n)
        end if
      end if
    end do
  end subroutine l96_two_scale_run

  !> Coarse-model tendency for a batch x(nk, nens) with a given sub-grid term u(nk, nens):
  !> dxdt = -X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - U_k for each member.
  subroutine l96_coarse_tendency(nk, nens, x, forcing, u, dxdt)
    integer(c_int), intent(in) :: nk, nens
    real(c_double), intent(in) :: x(nk, nens), forcing, u(nk, nens)
    real(c_double), intent(out) :: dxdt(nk, nens)
    integer :: m
    do m = 1, nens
      call coarse_tend(int(nk), x(:, m), forcing, u(:, m), dxdt(:, m))
    end do
  end subroutine l96_coarse_tendency

  !> One RK4 step of the coarse model for a batch x(nk, nens), in place, with the
  !> sub-grid term u(nk, nens) held fixed over the step (the parametrisation is
  !> evaluated once per step, before this call).
  subroutine l96_coarse_rk4_step(nk, nens, x, forcing, u, dt)
    integer(c_int), intent(in) :: nk, nens
    real(c_double), intent(inout) :: x(nk, nens)
    real(c_double), intent(in) :: forcing, u(nk, nens), dt
    integer :: m
    do m = 1, nens
      call coarse_step(int(nk), x(:, m), forcing, u(:, m), dt)
    end do
  end subroutine l96_coarse_rk4_step

  !> Free run of the coarse model with the polynomial sub-grid term
  !> U = sum_p coef(p+1) X^p + e, where e is AR(1) noise per (k, member):
  !> e_t = phi e_{t-1} + sigma sqrt(1 - phi^2) z_t, e_0 = 0, z_t standard normal from a
  !> generator seeded with seed (sigma = 0: deterministic). U is evaluated once per step
  !> and held fixed over the RK4 step. x(nk, nens) is integrated in place; after steps
  !> every, 2*every, ..., sample n (n <= nout) is stored in xs(:, :, n).
  subroutine l96_coarse_poly_run(nk, nens, x, forcing, dt, nsteps, every, ncoef, coef, &
                                 phi, sigma, seed, nout, xs)
    integer(c_int), intent(in) :: nk, nens, nsteps, every, ncoef, seed, nout
    real(c_double), intent(inout) :: x(nk, nens)
    real(c_double), intent(in) :: forcing, dt, coef(ncoef), phi, sigma
    real(c_double), intent(inout) :: xs(nk, nens, nout)
    real(dp) :: u(nk, nens), e(nk, nens), z(nk, nens), amp
    integer(i8) :: state(6)
    integer :: step, n, m
    call rng_seed(int(seed, i8), state)
    e = 0.0_dp
    amp = sigma * sqrt(max(0.0_dp, 1.0_dp - phi * phi))
    n = 0
    do step = 1, nsteps
      call poly_eval(int(ncoef), coef, int(nk) * int(nens), x, u)
      if (sigma > 0.0_dp) then
        call rng_normal(state, int(nk) * int(nens), z)
        e = phi * e + amp * z
        u = u + e
      end if
      do m = 1, nens
        call coarse_step(int(nk), x(:, m), forcing, u(:, m), dt)
      end do
      if (mod(step, every) == 0) then
        n = n + 1
        if (n <= nout) xs(:, :, n) = x
      end if
    end do
  end subroutine l96_coarse_poly_run

  !> Fill z(n) with standard normal numbers from the generator used by
  !> l96_coarse_poly_run, seeded with seed (exposed for tests and for Fortran callers).
  subroutine l96_normal_fill(n, seed, z)
    integer(c_int), intent(in) :: n, seed
    real(c_double), intent(out) :: z(n)
    integer(i8) :: state(6)
    call rng_seed(int(seed, i8), state)
    call rng_normal(state, int(n), z)
  end subroutine l96_normal_fill

end module l96_physics
