!> The emulated vertical mixing of the ocean host run_ocean, through the layout helper of
!> climlearn, with the guard on: a column whose network output is not finite gets the
!> reference Pacanowski-Philander scheme (ocean_physics's `mixing`) instead.
!>
!> ```fortran
!> call oml_init(own == 1, e3w)                          ! once: this rank's water columns
!> call oml_mixing(model, t, u, v, avt, avm, wfwd, ierr, msg)   ! each step
!> call oml_guard_columns(nbad)                           ! columns overruled so far
!> ```
!>
!> The network takes the T, u, v profiles of a column, x(3 jpk), and returns
!> y = [log10 avt, log10 avm] on the jpk-1 interior W levels. `cl_layout_forward` gathers
!> the columns of the mask, runs the network once on all of them and scatters y into
!> log10 fields; this module then writes 10**y into avt and avm on the columns the guard
!> accepted. The guard's reference procedure `pp_columns` is a module procedure (an
!> internal one would need a trampoline, hence an executable stack).
module ocean_ml_mixing
  use, intrinsic :: iso_c_binding, only: c_double, c_int
  use, intrinsic :: iso_fortran_env, only: int64
  use mpi, only: MPI_Wtime
  use climlearn, only: cl_model, cl_layout, cl_layout_init, cl_layout_forward, cl_field, &
                       cl_layout_counts
  use ocean_physics, only: mixing
  implicit none
  private

  public :: oml_init, oml_mixing, oml_guard_columns

  !> The columns run by the network (this rank's water columns).
  type(cl_layout), save :: layout
  !> Distance between T levels (m), for the reference scheme.
  real(c_double), allocatable, save :: e3w_ref(:)
  !> The network's output on the host grid: log10 avt, log10 avm (jpi, jpj, jpk-1).
  real(c_double), allocatable, target, save :: ly_t(:, :, :), ly_m(:, :, :)
  !> The layout's columns; those the guard rejected in the current call.
  logical, allocatable, save :: incol(:, :), rejected(:, :)
  !> Mask of the columns given to the reference scheme (1 = rejected).
  integer(c_int), allocatable, save :: refmask(:, :)
  !> The state and the mixing coefficients of the current call, for `pp_columns`.
  real(c_double), pointer, contiguous, save :: pt(:, :, :) => null(), pu(:, :, :) => null(), &
                                               pv(:, :, :) => null(), &
                                               pavt(:, :, :) => null(), &
                                               pavm(:, :, :) => null()

contains

  !> Choose the columns the network runs on, once before the time loop.
  subroutine oml_init(mask, e3w)
    logical, intent(in) :: mask(:, :)              !< true = this rank computes the column
    real(c_double), intent(in) :: e3w(:)           !< distance between T levels (jpk-1), m
    integer :: ni, nj, nk
    ni = size(mask, 1)
    nj = size(mask, 2)
    nk = size(e3w) + 1
    call cl_layout_init(layout, mask)
    if (allocated(ly_t)) deallocate (ly_t, ly_m, rejected, refmask)
    allocate (ly_t(ni, nj, nk - 1), ly_m(ni, nj, nk - 1), rejected(ni, nj), refmask(ni, nj))
    e3w_ref = e3w
    incol = mask
    ly_t = 0.0_c_double
    ly_m = 0.0_c_double
  end subroutine oml_init

  !> The emulated scheme on the columns of `oml_init`'s mask: avt, avm = 10**y where the
  !> network's outputs are finite, the reference scheme on the other columns. Columns
  !> outside the mask are untouched. `wfwd` accumulates the seconds of the layout call
  !> (gather, network, guard, scatter of y, reference fallback). On error (stat /= 0)
  !> errmsg holds the layout helper's message and avt, avm may be partly written.
  subroutine oml_mixing(net, t, u, v, avt, avm, wfwd, stat, errmsg)
    type(cl_model), intent(inout) :: net                             !< the loaded network
    real(c_double), intent(in), target, contiguous :: t(:, :, :)     !< temperature, degC
    real(c_double), intent(in), target, contiguous :: u(:, :, :)     !< zonal velocity, m s-1
    real(c_double), intent(in), target, contiguous :: v(:, :, :)     !< meridional, m s-1
    real(c_double), intent(inout), target, contiguous :: avt(:, :, :)  !< m2 s-1
    real(c_double), intent(inout), target, contiguous :: avm(:, :, :)  !< m2 s-1
    real(c_double), intent(inout) :: wfwd                            !< accumulated seconds
    integer, intent(out) :: stat                                     !< 0 = success
    character(len=*), intent(out) :: errmsg                          !< the error, if any
    real(c_double), parameter :: ln10 = log(10.0_c_double)
    integer :: i, j, k
    real(c_double) :: w
    errmsg = ''
    pt => t
    pu => u
    pv => v
    pavt => avt
    pavm => avm
    w = MPI_Wtime()
    call cl_layout_forward(layout, net, [cl_field(pt), cl_field(pu), cl_field(pv)], &
                           [cl_field(ly_t), cl_field(ly_m)], reference=pp_columns, &
                           bad=rejected, stat=stat, errmsg=errmsg)
    wfwd = wfwd + (MPI_Wtime() - w)
    nullify (pt, pu, pv, pavt, pavm)
    if (stat /= 0) return
    ! 10**y on the accepted columns (the reference scheme wrote the rejected ones)
    do j = 1, size(avt, 2)
      do i = 1, size(avt, 1)
        if (.not. incol(i, j) .or. rejected(i, j)) cycle
        do k = 1, size(avt, 3)
          avt(i, j, k) = exp(ln10 * ly_t(i, j, k))
          avm(i, j, k) = exp(ln10 * ly_m(i, j, k))
        end do
      end do
    end do
  end subroutine oml_mixing

  !> The guard's reference: the Pacanowski-Philander scheme on the rejected columns (flat
  !> indices ic = i + (j-1) jpi), written into the avt, avm of the current call.
  subroutine pp_columns(columns)
    integer, intent(in) :: columns(:)   !< flat host indices of the rejected columns
    integer :: n, ni, nj, nk
    ni = size(pt, 1)
    nj = size(pt, 2)
    nk = size(pt, 3)
    refmask = 0
    do n = 1, size(columns)
      refmask(mod(columns(n) - 1, ni) + 1, (columns(n) - 1) / ni + 1) = 1
    end do
    call mixing(int(ni, c_int), int(nj, c_int), int(nk, c_int), refmask, e3w_ref, pt, pu, &
                pv, pavt, pavm)
  end subroutine pp_columns

  !> Number of columns the guard handed to the reference scheme since `oml_init`, summed
  !> over the calls (a column rejected at two steps counts twice).
  subroutine oml_guard_columns(nbad)
    integer(int64), intent(out) :: nbad   !< rejected columns, this rank
    call cl_layout_counts(layout, nbad=nbad)
  end subroutine oml_guard_columns

end module ocean_ml_mixing
